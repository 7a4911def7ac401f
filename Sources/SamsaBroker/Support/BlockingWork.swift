import NIOPosix

/// Runs blocking work (file I/O, fsync) on a dedicated thread pool, never on an event loop or
/// on Swift's cooperative threads, which are as few as the cores.
package struct BlockingWork: Sendable {
    private let pool: NIOThreadPool

    /// Starts a pool of `threadCount` threads. Appends waiting for a group-commit fsync occupy a
    /// thread each, so the pool is larger than the core count.
    package init(threadCount: Int = 16) {
        pool = NIOThreadPool(numberOfThreads: threadCount)
        pool.start()
    }

    /// Runs `body` on the pool and returns its result.
    package func run<Result: Sendable>(_ body: @escaping @Sendable () throws -> Result) async throws -> Result {
        try await pool.runIfActive(body)
    }

    /// Stops the pool once the work already submitted is done.
    package func shutdown() async throws {
        try await pool.shutdownGracefully()
    }
}
