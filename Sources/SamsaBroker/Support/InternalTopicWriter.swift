import NIOCore
import SamsaStorage

/// Appends a coordinator's record batches to its internal topic (`__consumer_offsets`,
/// `__transaction_state`) in exactly the order they are submitted, and answers each once it is
/// durable.
///
/// Order matters: a coordinator changes its state in memory and then submits the record, and a
/// replay must end in the same state. Appends therefore run one at a time, in submission order;
/// the fsync waits after them run concurrently, so commits share fsyncs (group commit).
/// ``submit(_:to:)`` enqueues synchronously, so callers on one actor keep their order.
final class InternalTopicWriter: Sendable {
    struct Job: Sendable {
        let log: PartitionLog
        let batch: ByteBuffer
        /// Gets the offset of the batch's first record once it is durable.
        let done: @Sendable (Result<Int64, any Error>) -> Void
    }

    private let jobs: AsyncStream<Job>
    private let continuation: AsyncStream<Job>.Continuation
    private let blocking: BlockingWork

    init(blocking: BlockingWork) {
        (jobs, continuation) = AsyncStream.makeStream(of: Job.self)
        self.blocking = blocking
    }

    /// Queues `batch` for `log`; `done` is called with the first offset once it is durable, or
    /// with the error that stopped it.
    func submit(_ batch: ByteBuffer, to log: PartitionLog, done: @escaping @Sendable (Result<Int64, any Error>) -> Void) {
        if case .terminated = continuation.yield(Job(log: log, batch: batch, done: done)) {
            done(.failure(StorageError.closed(path: log.directory)))
        }
    }

    /// Runs the queue until ``finish()``; jobs queued before it still complete.
    func run() async {
        let blocking = self.blocking
        await withDiscardingTaskGroup { group in
            for await job in jobs {
                let appended: LogAppendInfo
                do {
                    appended = try await blocking.run { try job.log.append(job.batch, durability: .written) }
                } catch {
                    job.done(.failure(error))
                    continue
                }
                guard job.log.config.flushPolicy == .groupCommit else {
                    job.done(.success(appended.firstOffset))
                    continue
                }
                group.addTask {
                    if let error = await blocking.waitUntilDurable([(job.log, appended.lastOffset + 1)])[0] {
                        job.done(.failure(error))
                    } else {
                        job.done(.success(appended.firstOffset))
                    }
                }
            }
        }
    }

    /// Stops taking jobs; ``run()`` returns once the queued ones are done.
    func finish() {
        continuation.finish()
    }
}
