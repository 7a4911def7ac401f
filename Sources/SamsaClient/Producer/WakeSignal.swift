import NIOConcurrencyHelpers
import NIOCore
import NIOPosix

/// Wakes one waiting task: a `fire` before the `wait` is kept, so no wake-up is lost. A wait
/// can also end at a deadline, or when the waiting task is cancelled.
final class WakeSignal: Sendable {
    private struct State {
        var pending = false
        var waiter: CheckedContinuation<Void, Never>?
    }

    private let state = NIOLockedValueBox(State())

    func fire() {
        let waiter = state.withLockedValue { state -> CheckedContinuation<Void, Never>? in
            guard let waiter = state.waiter else {
                state.pending = true
                return nil
            }
            state.waiter = nil
            return waiter
        }
        waiter?.resume()
    }

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
        // A cancelled task stops waiting: the caller sees `Task.isCancelled` and gives up.
        await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                let resumeNow = state.withLockedValue { state -> Bool in
                    if state.pending {
                        state.pending = false
                        return true
                    }
                    state.waiter = continuation
                    return false
                }
                if resumeNow { continuation.resume() }
            }
        } onCancel: {
            fire()
        }
        timer?.cancel()
    }
}
