import NIOConcurrencyHelpers
import NIOPosix
import SamsaStorage

/// Runs blocking work (file I/O, fsync) on a dedicated thread pool, never on an event loop or
/// on Swift's cooperative threads, which are as few as the cores.
package struct BlockingWork: Sendable {
    private let pool: NIOThreadPool
    /// Runs tasks on the pool's threads: a task that prefers it (the produce requests of a
    /// connection) does its blocking work in place, without a hop to the pool and back.
    package let executor: BlockingTaskExecutor

    /// Starts a pool of `threadCount` threads. File I/O blocks a thread while it waits for the
    /// disk, so the pool is larger than the core count.
    package init(threadCount: Int = 16) {
        pool = NIOThreadPool(numberOfThreads: threadCount)
        pool.start()
        executor = BlockingTaskExecutor(pool: pool)
    }

    /// Runs `body` on the pool and returns its result.
    package func run<Result: Sendable>(_ body: @escaping @Sendable () throws -> Result) async throws -> Result {
        if BlockingTaskExecutor.isRunningJob { return try body() }
        return try await pool.runIfActive(body)
    }

    /// Starts `body` on the pool without waiting for it. If the pool has stopped, `body` runs
    /// on the calling thread instead: work others wait for (a flush) is never dropped.
    package func start(_ body: @escaping @Sendable () -> Void) {
        pool.submit { _ in body() }
    }

    /// Waits until each log's offsets below its `offset` are durable, and returns each wait's
    /// failure (nil when durable), in order. Every wait is registered before any is awaited, so
    /// the logs' fsyncs run in parallel; no thread is held while waiting, and a log has at most
    /// one thread flushing for all its waiters (see ``PartitionLog/notifyWhenDurable(_:completion:)``).
    ///
    /// Called on the pool (a produce request runs there), the caller does one log's fsync
    /// itself when no one is flushing that log yet, instead of waking another thread for it and
    /// being woken again after: two thread hand-offs less per durable produce.
    package func waitUntilDurable(_ waits: [(log: PartitionLog, offset: Int64)]) async -> [StorageError?] {
        guard !waits.isEmpty else { return [] }
        let gathered = GatheredResults(count: waits.count)
        var flushesHere: (log: PartitionLog, offset: Int64)?
        for (index, wait) in waits.enumerated() {
            let log = wait.log
            let startsFlusher = log.notifyWhenDurable(wait.offset) { result in
                gathered.set(index, result)
            }
            guard startsFlusher else { continue }
            if flushesHere == nil, BlockingTaskExecutor.isRunningJob {
                flushesHere = wait
            } else {
                start { log.flushForWaiters() }
            }
        }
        if let (log, offset) = flushesHere, log.flushForWaiters(until: offset) {
            start { log.flushForWaiters() }
        }
        return await gathered.results()
    }

    /// Stops the pool once the work already submitted is done.
    package func shutdown() async throws {
        try await pool.shutdownGracefully()
    }
}

/// The results of several durability waits, handed to the one task awaiting them once the
/// last arrives (at once when every wait was answered before the task asked).
private final class GatheredResults: Sendable {
    private struct State {
        var results: [StorageError?]
        var remaining: Int
        var continuation: CheckedContinuation<[StorageError?], Never>?
    }

    private let state: NIOLockedValueBox<State>

    init(count: Int) {
        state = NIOLockedValueBox(State(results: Array(repeating: nil, count: count), remaining: count))
    }

    func set(_ index: Int, _ result: Result<Void, StorageError>) {
        let (continuation, results) = state.withLockedValue { state -> (CheckedContinuation<[StorageError?], Never>?, [StorageError?]) in
            if case .failure(let error) = result { state.results[index] = error }
            state.remaining -= 1
            guard state.remaining == 0 else { return (nil, []) }
            defer { state.continuation = nil }
            return (state.continuation, state.results)
        }
        continuation?.resume(returning: results)
    }

    func results() async -> [StorageError?] {
        await withCheckedContinuation { continuation in
            let done = state.withLockedValue { state -> [StorageError?]? in
                if state.remaining == 0 { return state.results }
                state.continuation = continuation
                return nil
            }
            if let done { continuation.resume(returning: done) }
        }
    }
}

/// A task executor over the blocking pool's threads, where blocking is allowed.
package final class BlockingTaskExecutor: TaskExecutor {
    private let pool: NIOThreadPool
    private static let runningJob = ThreadSpecificVariable<Marker>()
    private static let marker = Marker()
    private final class Marker: Sendable {}

    init(pool: NIOThreadPool) {
        self.pool = pool
    }

    /// True on a pool thread while it runs a task's job.
    static var isRunningJob: Bool { runningJob.currentValue != nil }

    package func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        let executor = asUnownedTaskExecutor()
        // A stopped pool runs the job on this thread instead: a task's job must always run.
        pool.submit { _ in
            Self.runningJob.currentValue = Self.marker
            job.runSynchronously(on: executor)
            Self.runningJob.currentValue = nil
        }
    }
}
