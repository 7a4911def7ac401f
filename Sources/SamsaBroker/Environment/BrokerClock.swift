import NIOCore
import NIOPosix
import SamsaStorage

/// The broker's time: what the logs read (``StorageClock``) plus sleeping until a deadline,
/// which every timer of the broker uses (group sessions and rebalances, long-poll fetches,
/// periodic maintenance).
///
/// Deadlines are absolute readings of the same clock, so a test that moves a manual clock past
/// a deadline wakes exactly the sleepers due by then, whenever they started to sleep.
public protocol BrokerClock: StorageClock {
    /// Suspends until the clock reads `deadline` (milliseconds since the epoch) or later;
    /// returns at once when it already does.
    ///
    /// - Throws: `CancellationError` when the task is cancelled first.
    func sleep(untilMilliseconds deadline: Int64) async throws

    /// Calls `action` once the clock reads `deadline` (milliseconds since the epoch) or later,
    /// unless the returned wake-up is cancelled first. A timer without a task waiting on it:
    /// long-poll fetches arm one each and nearly always cancel it.
    ///
    /// The default sleeps in a new task (``sleep(untilMilliseconds:)``), so a test's manual
    /// clock sees it as a sleeper.
    func wake(atMilliseconds deadline: Int64, _ action: @escaping @Sendable () -> Void) -> ClockWakeUp
}

/// A pending ``BrokerClock/wake(atMilliseconds:_:)``.
public struct ClockWakeUp: Sendable {
    private let cancelAction: @Sendable () -> Void

    /// A wake-up that `cancel` stops.
    public init(cancel: @escaping @Sendable () -> Void) {
        cancelAction = cancel
    }

    /// Stops the wake-up if it has not happened yet; it then never happens.
    public func cancel() {
        cancelAction()
    }
}

extension BrokerClock {
    public func wake(atMilliseconds deadline: Int64, _ action: @escaping @Sendable () -> Void) -> ClockWakeUp {
        wakeFromTask(atMilliseconds: deadline, action)
    }

    /// The wake-up as a task sleeping on the clock.
    func wakeFromTask(atMilliseconds deadline: Int64, _ action: @escaping @Sendable () -> Void) -> ClockWakeUp {
        let task = Task {
            do {
                try await sleep(untilMilliseconds: deadline)
            } catch {
                return
            }
            action()
        }
        return ClockWakeUp { task.cancel() }
    }
}

extension SystemClock: BrokerClock {
    /// On an event loop's thread (a fetch runs in its connection's reading loop), the wake-up is
    /// a timer of that loop: arming it wakes no thread, cancelling it wakes none either, and it
    /// fires on the thread that answers the fetch. A task sleeping on Swift's clock would cost a
    /// task, a timer of the dispatch library's manager thread, and a wake-up of one of Swift's
    /// threads to start it and another to end it, for each long poll.
    public func wake(atMilliseconds deadline: Int64, _ action: @escaping @Sendable () -> Void) -> ClockWakeUp {
        if let loop = MultiThreadedEventLoopGroup.currentEventLoop {
            let delay = TimeAmount.milliseconds(max(0, deadline - nowMilliseconds()))
            // Fails only when the loop is shutting down; the task below still wakes.
            if let callback = try? loop.scheduleCallback(in: delay, handler: WakeUpCallback(action: action)) {
                return ClockWakeUp { callback.cancel() }
            }
        }
        return wakeFromTask(atMilliseconds: deadline, action)
    }

    public func sleep(untilMilliseconds deadline: Int64) async throws {
        // The wall clock may step while sleeping; sleep again for what is left, if anything.
        while true {
            let left = deadline - nowMilliseconds()
            guard left > 0 else { return }
            try await Task.sleep(for: .milliseconds(left))
        }
    }
}

extension Duration {
    /// The duration in whole milliseconds (rounded down), the unit of the broker's clock.
    var wholeMilliseconds: Int64 {
        let (seconds, attoseconds) = components
        return seconds * 1000 + attoseconds / 1_000_000_000_000_000
    }
}

/// Runs a wake-up's action on the event loop it was armed on.
private struct WakeUpCallback: NIOScheduledCallbackHandler, Sendable {
    let action: @Sendable () -> Void

    func handleScheduledCallback(eventLoop: some EventLoop) {
        action()
    }
}
