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
    package func waitUntilDurable(_ waits: [(log: PartitionLog, offset: Int64)]) async -> [StorageError?] {
        guard !waits.isEmpty else { return [] }
        return await withCheckedContinuation { continuation in
            let gathered = GatheredResults(count: waits.count, continuation: continuation)
            for (index, wait) in waits.enumerated() {
                let log = wait.log
                let startsFlusher = log.notifyWhenDurable(wait.offset) { result in
                    gathered.set(index, result)
                }
                if startsFlusher { start { log.flushForWaiters() } }
            }
        }
    }

    /// Stops the pool once the work already submitted is done.
    package func shutdown() async throws {
        try await pool.shutdownGracefully()
    }
}

/// The results of several durability waits, resuming one continuation when the last arrives.
private final class GatheredResults: Sendable {
    private let state: NIOLockedValueBox<(results: [StorageError?], remaining: Int)>
    private let continuation: CheckedContinuation<[StorageError?], Never>

    init(count: Int, continuation: CheckedContinuation<[StorageError?], Never>) {
        state = NIOLockedValueBox((Array(repeating: nil, count: count), count))
        self.continuation = continuation
    }

    func set(_ index: Int, _ result: Result<Void, StorageError>) {
        let results = state.withLockedValue { state -> [StorageError?]? in
            if case .failure(let error) = result { state.results[index] = error }
            state.remaining -= 1
            return state.remaining == 0 ? state.results : nil
        }
        if let results { continuation.resume(returning: results) }
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
