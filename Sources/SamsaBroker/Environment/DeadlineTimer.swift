/// A coordinator's one pending wake-up on the broker clock: it sleeps until the earliest
/// deadline it was armed for, then calls `fire`. Arming for a later deadline than the pending
/// one changes nothing; an earlier one replaces it. Owned by an actor, which calls
/// ``fired()`` first thing in `fire`.
struct DeadlineTimer {
    private var task: Task<Void, Never>?
    private var deadline: Int64?

    /// Wakes at `next` on `clock` (unless already armed for that time or earlier).
    mutating func arm(at next: Int64, clock: any BrokerClock, fire: @escaping @Sendable () async -> Void) {
        if let deadline, deadline <= next, task != nil { return }
        task?.cancel()
        deadline = next
        task = Task {
            do {
                try await clock.sleep(untilMilliseconds: next)
            } catch {
                return
            }
            await fire()
        }
    }

    /// The wake-up happened: the next ``arm(at:clock:fire:)`` arms anew.
    mutating func fired() {
        task = nil
        deadline = nil
    }

    /// Cancels the pending wake-up (shutdown).
    mutating func cancel() {
        task?.cancel()
        fired()
    }
}
