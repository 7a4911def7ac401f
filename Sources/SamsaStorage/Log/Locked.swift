import NIOConcurrencyHelpers

/// State guarded by a plain mutex, reachable only inside ``withLock(_:)``.
///
/// Like `NIOLockedValueBox`, but the body's error type passes through (`NIOLockedValueBox` is
/// `rethrows`, which widens every error to `any Error`), so callers keep `throws(StorageError)`.
package final class Locked<State> {
    private let lock = NIOLock()
    // Only touched with `lock` held; the class is @unchecked Sendable for that reason.
    private var state: State

    /// Creates the lock guarding `initialState`.
    package init(_ initialState: State) {
        state = initialState
    }

    /// Runs `body` with the lock held.
    package func withLock<Result, Failure: Error>(_ body: (inout State) throws(Failure) -> Result) throws(Failure) -> Result {
        lock.lock()
        defer { lock.unlock() }
        return try body(&state)
    }
}

// The state is only reached with the lock held, so the box may cross threads when it may.
extension Locked: @unchecked Sendable where State: Sendable {}
