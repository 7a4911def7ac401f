import NIOConcurrencyHelpers
import SamsaBroker
import SamsaStorage

/// A clock that moves only when told to: tests of roll, retention, sessions, rebalances and
/// long polls run without sleeping and without depending on how fast the machine is.
///
/// Sleepers (``sleep(untilMilliseconds:)``) wake when ``advance(byMilliseconds:)`` or
/// ``set(toMilliseconds:)`` moves the clock to or past their deadline, in deadline order.
/// ``waitForSleepers(atLeast:)`` lets a test wait for the event "the broker armed its timers"
/// before it moves time.
public final class ManualClock: BrokerClock {
    private struct Sleeper {
        let deadline: Int64
        let continuation: CheckedContinuation<Void, any Error>
    }

    private struct State {
        var now: Int64
        var sleepers: [UInt64: Sleeper] = [:]
        var nextSleeperID: UInt64 = 0
        /// Sleepers cancelled before their continuation was registered.
        var cancelledEarly: Set<UInt64> = []
        var sleeperWaiters: [(count: Int, deadline: Int64?, continuation: CheckedContinuation<Void, Never>)] = []
    }

    private let state: NIOLockedValueBox<State>

    /// Creates a clock reading `start` milliseconds since the epoch (2023-11-14 by default).
    public init(startingAt start: Int64 = 1_700_000_000_000) {
        state = NIOLockedValueBox(State(now: start))
    }

    public func nowMilliseconds() -> Int64 { state.withLockedValue { $0.now } }

    /// How many tasks sleep on this clock now.
    public var sleeperCount: Int { state.withLockedValue { $0.sleepers.count } }

    /// The earliest deadline anyone sleeps until, if anyone sleeps.
    public var nextDeadline: Int64? { state.withLockedValue { $0.sleepers.values.map(\.deadline).min() } }

    /// Moves the clock forward by `milliseconds` and wakes every sleeper due by then.
    public func advance(byMilliseconds milliseconds: Int64) {
        precondition(milliseconds >= 0, "a clock does not move backwards")
        let due = state.withLockedValue { state -> [Sleeper] in
            state.now += milliseconds
            return Self.takeDue(from: &state)
        }
        for sleeper in due { sleeper.continuation.resume() }
    }

    /// Moves the clock forward by `duration` (whole milliseconds).
    public func advance(by duration: Duration) {
        let (seconds, attoseconds) = duration.components
        advance(byMilliseconds: seconds * 1000 + attoseconds / 1_000_000_000_000_000)
    }

    /// Moves the clock to `milliseconds` (not backwards) and wakes every sleeper due by then.
    public func set(toMilliseconds milliseconds: Int64) {
        advance(byMilliseconds: max(0, milliseconds - nowMilliseconds()))
    }

    public func sleep(untilMilliseconds deadline: Int64) async throws {
        let id = state.withLockedValue { state -> UInt64 in
            defer { state.nextSleeperID += 1 }
            return state.nextSleeperID
        }
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                enum Outcome { case wait, due, cancelled }
                let (outcome, satisfied) = state.withLockedValue { state -> (Outcome, [CheckedContinuation<Void, Never>]) in
                    if state.cancelledEarly.remove(id) != nil { return (.cancelled, []) }
                    if deadline <= state.now { return (.due, []) }
                    state.sleepers[id] = Sleeper(deadline: deadline, continuation: continuation)
                    return (.wait, Self.takeSatisfiedWaiters(from: &state))
                }
                switch outcome {
                case .wait: break
                case .due: continuation.resume()
                case .cancelled: continuation.resume(throwing: CancellationError())
                }
                for waiter in satisfied { waiter.resume() }
            }
        } onCancel: {
            let sleeper = state.withLockedValue { state -> Sleeper? in
                if let sleeper = state.sleepers.removeValue(forKey: id) { return sleeper }
                state.cancelledEarly.insert(id)
                return nil
            }
            sleeper?.continuation.resume(throwing: CancellationError())
        }
        // An early cancellation mark left behind by a sleep that completed is harmless but
        // would grow the set; drop it.
        state.withLockedValue { _ = $0.cancelledEarly.remove(id) }
    }

    /// Suspends until at least `count` tasks sleep on this clock (until `deadline`, when
    /// given): the event a test waits for before it moves time past their deadlines.
    ///
    /// A broker has sleepers of its own (maintenance, group timers), so a test waiting for one
    /// particular timer names its deadline: a fetch with MaxWaitMs 500 sent while the clock
    /// reads `t` sleeps until `t + 500`.
    public func waitForSleepers(atLeast count: Int = 1, until deadline: Int64? = nil) async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let ready = state.withLockedValue { state -> Bool in
                if Self.sleeperCount(in: state, until: deadline) >= count { return true }
                state.sleeperWaiters.append((count, deadline, continuation))
                return false
            }
            if ready { continuation.resume() }
        }
    }

    private static func sleeperCount(in state: State, until deadline: Int64?) -> Int {
        guard let deadline else { return state.sleepers.count }
        return state.sleepers.values.filter { $0.deadline == deadline }.count
    }

    private static func takeDue(from state: inout State) -> [Sleeper] {
        let due = state.sleepers.filter { $0.value.deadline <= state.now }.sorted { $0.value.deadline < $1.value.deadline }
        for (id, _) in due { state.sleepers[id] = nil }
        return due.map(\.value)
    }

    private static func takeSatisfiedWaiters(from state: inout State) -> [CheckedContinuation<Void, Never>] {
        var satisfied: [CheckedContinuation<Void, Never>] = []
        var waiting: [(count: Int, deadline: Int64?, continuation: CheckedContinuation<Void, Never>)] = []
        for waiter in state.sleeperWaiters {
            if sleeperCount(in: state, until: waiter.deadline) >= waiter.count {
                satisfied.append(waiter.continuation)
            } else {
                waiting.append(waiter)
            }
        }
        state.sleeperWaiters = waiting
        return satisfied
    }
}
