#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// State guarded by a mutex with a condition variable, for threads that must wait until a
/// predicate over the state holds (an appender waiting for the fsync that covers its offset, a
/// creator waiting for another creator of the same partition). NIOConcurrencyHelpers' locks
/// have no wait-for-predicate, hence this small wrapper over pthreads.
///
/// The state is reachable only inside ``withLock(notifyingWaiters:_:)`` and
/// ``withLock(waitingUntil:notifyingWaiters:_:)``, so no access can forget the lock. Bodies
/// throw typed errors, so callers keep their `throws(StorageError)`.
package final class ConditionLock<State>: @unchecked Sendable {
    private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    private let condition = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)
    // Only touched with `mutex` held; the class is @unchecked Sendable for that reason.
    private var state: State

    /// Creates the lock guarding `initialState`.
    package init(_ initialState: State) {
        state = initialState
        let mutexResult = pthread_mutex_init(mutex, nil)
        let conditionResult = pthread_cond_init(condition, nil)
        precondition(mutexResult == 0 && conditionResult == 0, "pthread initialisation failed")
    }

    deinit {
        pthread_cond_destroy(condition)
        pthread_mutex_destroy(mutex)
        condition.deallocate()
        mutex.deallocate()
    }

    /// Runs `body` with the lock held. With `notifyingWaiters`, wakes every thread waiting in
    /// ``withLock(waitingUntil:notifyingWaiters:_:)`` afterwards (even when `body` throws), so
    /// they re-check their predicate: pass it whenever `body` may change what they wait for.
    package func withLock<Result, Failure: Error>(
        notifyingWaiters: Bool = false, _ body: (inout State) throws(Failure) -> Result
    ) throws(Failure) -> Result {
        lock()
        defer {
            if notifyingWaiters { pthread_cond_broadcast(condition) }
            unlock()
        }
        return try body(&state)
    }

    /// Waits, with the lock released, until `predicate` holds for the state, then runs `body`
    /// with the lock held (`predicate` still true). Wake-ups come from bodies run with
    /// `notifyingWaiters`; spurious ones only cost a re-check.
    package func withLock<Result, Failure: Error>(
        waitingUntil predicate: (borrowing State) -> Bool, notifyingWaiters: Bool = false,
        _ body: (inout State) throws(Failure) -> Result
    ) throws(Failure) -> Result {
        lock()
        defer {
            if notifyingWaiters { pthread_cond_broadcast(condition) }
            unlock()
        }
        while !predicate(state) {
            let result = pthread_cond_wait(condition, mutex)
            precondition(result == 0, "pthread_cond_wait failed: \(result)")
        }
        return try body(&state)
    }

    private func lock() {
        let result = pthread_mutex_lock(mutex)
        precondition(result == 0, "pthread_mutex_lock failed: \(result)")
    }

    private func unlock() {
        let result = pthread_mutex_unlock(mutex)
        precondition(result == 0, "pthread_mutex_unlock failed: \(result)")
    }
}
