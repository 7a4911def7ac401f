import NIOConcurrencyHelpers
import NIOCore
import NIOPosix

/// Wakes the tasks waiting on it: a `fire` with nobody waiting is kept for the next `wait`, so
/// no wake-up is lost. A wait can also end at a deadline, or when the waiting task is cancelled.
/// Several tasks may wait at once (two tasks reading a consumer's records); `fire` wakes them
/// all, and each checks again what it waits for.
final class WakeSignal: Sendable {
    private struct State {
        var pending = false
        var nextID: UInt64 = 0
        var waiters: [UInt64: CheckedContinuation<Void, Never>] = [:]
        /// Waits cancelled before their continuation was registered.
        var cancelled: Set<UInt64> = []
    }

    private let state = NIOLockedValueBox(State())

    func fire() {
        let waiters = state.withLockedValue { state -> [CheckedContinuation<Void, Never>] in
            guard !state.waiters.isEmpty else {
                state.pending = true
                return []
            }
            defer { state.waiters = [:] }
            return Array(state.waiters.values)
        }
        for waiter in waiters { waiter.resume() }
    }

    /// The tasks waiting right now (for tests).
    var waiterCount: Int { state.withLockedValue { $0.waiters.count } }

    /// Returns after the next `fire` (or at once if one is pending), or at `deadline`.
    func wait(until deadline: ContinuousClock.Instant?) async {
        let timer: Scheduled<Void>?
        if let deadline {
            let remaining = deadline - .now
            guard remaining > .zero else { return }
            let nanoseconds = remaining.components.seconds * 1_000_000_000 + remaining.components.attoseconds / 1_000_000_000
            timer = MultiThreadedEventLoopGroup.singleton.any().scheduleTask(in: .nanoseconds(max(1, nanoseconds))) { [self] in
                self.fire()
            }
        } else {
            timer = nil
        }
        let id = state.withLockedValue { state -> UInt64 in
            state.nextID += 1
            return state.nextID
        }
        // A cancelled task stops waiting: the caller sees `Task.isCancelled` and gives up.
        await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                let resumeNow = state.withLockedValue { state -> Bool in
                    if state.pending {
                        state.pending = false
                        return true
                    }
                    if state.cancelled.remove(id) != nil { return true }
                    state.waiters[id] = continuation
                    return false
                }
                if resumeNow { continuation.resume() }
            }
        } onCancel: {
            let waiter = state.withLockedValue { state -> CheckedContinuation<Void, Never>? in
                if let waiter = state.waiters.removeValue(forKey: id) { return waiter }
                state.cancelled.insert(id)
                return nil
            }
            waiter?.resume()
        }
        // A cancellation that came after the wake-up leaves its mark behind.
        state.withLockedValue { _ = $0.cancelled.remove(id) }
        timer?.cancel()
    }
}
