import NIOConcurrencyHelpers

/// Lets a connection start its next request before the current one is answered.
///
/// The server reads a connection's next request once the current one finished, or once its
/// handler calls ``allowNext()``: the produce handler does so after its batches are appended,
/// so the next request is read, checked and appended while this one waits for its fsync, and
/// requests that follow can share that fsync. Requests still start in arrival order, and the
/// answers go out in that order.
public final class RequestOrdering: Sendable {
    private struct State {
        var allowed = false
        var waiter: CheckedContinuation<Void, Never>?
    }

    private let state = NIOLockedValueBox(State())

    public init() {}

    /// The connection may start its next request now. Calling it again does nothing.
    public func allowNext() {
        let waiter = state.withLockedValue { state -> CheckedContinuation<Void, Never>? in
            guard !state.allowed else { return nil }
            state.allowed = true
            defer { state.waiter = nil }
            return state.waiter
        }
        waiter?.resume()
    }

    /// Returns once ``allowNext()`` was called.
    func wait() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let allowed = state.withLockedValue { state -> Bool in
                if state.allowed { return true }
                state.waiter = continuation
                return false
            }
            if allowed { continuation.resume() }
        }
    }
}

/// Bounds what one connection holds in requests started and not yet answered: at most
/// `maxRequests`, and at most `maxBytes` of their frames (one request always fits, whatever
/// its size, so the frame limit alone bounds a connection that sends large requests).
final class PipelineBudget: Sendable {
    private struct State {
        var requests = 0
        var bytes = 0
        var waiter: (bytes: Int, continuation: CheckedContinuation<Void, Never>)?
        var cancelled = false
    }

    private let maxRequests: Int
    private let maxBytes: Int
    private let state = NIOLockedValueBox(State())

    init(maxRequests: Int, maxBytes: Int) {
        self.maxRequests = maxRequests
        self.maxBytes = maxBytes
    }

    private func fits(_ bytes: Int, in state: State) -> Bool {
        state.cancelled || state.requests == 0 || (state.requests < maxRequests && state.bytes + bytes <= maxBytes)
    }

    /// Takes room for a request of `bytes`, waiting until answers free enough. Only the
    /// connection's reading loop calls it, so there is at most one waiter.
    func acquire(_ bytes: Int) async {
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let admitted = state.withLockedValue { state -> Bool in
                    guard fits(bytes, in: state) else {
                        state.waiter = (bytes, continuation)
                        return false
                    }
                    state.requests += 1
                    state.bytes += bytes
                    return true
                }
                if admitted { continuation.resume() }
            }
        } onCancel: {
            let waiter = state.withLockedValue { state -> CheckedContinuation<Void, Never>? in
                state.cancelled = true
                defer { state.waiter = nil }
                return state.waiter?.continuation
            }
            waiter?.resume()
        }
    }

    /// The connection's answers stopped (the writer is gone, the connection is closing): nothing
    /// will free room again, so a waiting ``acquire(_:)`` returns and later ones do not wait.
    /// The reading loop checks ``isClosed`` and stops.
    func close() {
        let waiter = state.withLockedValue { state -> CheckedContinuation<Void, Never>? in
            state.cancelled = true
            defer { state.waiter = nil }
            return state.waiter?.continuation
        }
        waiter?.resume()
    }

    /// True once ``close()`` was called or the reading loop was cancelled.
    var isClosed: Bool { state.withLockedValue { $0.cancelled } }

    /// Gives back the room of an answered request of `bytes`.
    func release(_ bytes: Int) {
        let waiter = state.withLockedValue { state -> CheckedContinuation<Void, Never>? in
            state.requests -= 1
            state.bytes -= bytes
            guard let waiter = state.waiter, fits(waiter.bytes, in: state) else { return nil }
            state.waiter = nil
            state.requests += 1
            state.bytes += waiter.bytes
            return waiter.continuation
        }
        waiter?.resume()
    }
}
