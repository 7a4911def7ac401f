import NIOCore
import SamsaRecords

/// A producer's records waiting to be sent, batched per partition. A plain value guarded by
/// the producer's lock: appends add to the partition's last open batch; ``drain(now:)``
/// hands out the batches that are due (full, lingered long enough, flushed, or retried after
/// their backoff), one per partition at a time so records stay in order.
struct RecordAccumulator {
    /// One record's promise: the caller waiting in `send`, or nobody (fire and forget).
    enum Completion {
        case waiting(CheckedContinuation<RecordMetadata, any Error>)
        case callback(@Sendable (Result<RecordMetadata, any Error>) -> Void)
        case none
    }

    struct PartitionKey: Hashable {
        var topic: String
        var partition: Int32
    }

    /// Records of one partition, sent together.
    struct Batch {
        let key: PartitionKey
        var builder: RecordBatchBuilder
        var completions: [Completion] = []
        var timestamps: [Int64] = []
        var bytes = 0
        let created: ContinuousClock.Instant
        let deadline: ContinuousClock.Instant
        /// No more records go into it (it is full, or was sent once).
        var closed = false
        var attempts = 0
        var retryAt: ContinuousClock.Instant?
        var lastError: String?

        var recordCount: Int { completions.count }
    }

    private struct PartitionQueue {
        var batches: [Batch] = []
        var inFlight = false
        var nextSequence: Int32 = 0
    }

    let batchSize: Int
    let linger: Duration
    let deliveryTimeout: Duration
    let compression: CompressionCodec
    private var queues: [PartitionKey: PartitionQueue] = [:]
    /// Bytes of records not yet acknowledged.
    private(set) var bufferedBytes = 0
    /// Records appended and not yet acknowledged or failed.
    private(set) var unfinishedRecords = 0
    /// While above 0, every batch is due at once (`flush`, `close`).
    var flushing = 0

    init(batchSize: Int, lingerMs: Int64, deliveryTimeoutMs: Int64, compression: CompressionCodec) {
        self.batchSize = batchSize
        self.linger = .milliseconds(lingerMs)
        self.deliveryTimeout = .milliseconds(deliveryTimeoutMs)
        self.compression = compression
    }

    /// Adds a record to its partition's open batch (or a new one). True when the sender should
    /// look again now: a batch filled up, or a partition got its first batch (a linger starts).
    mutating func append(
        _ record: ProducerRecord, partition: Int32, timestamp: Int64, completion: Completion,
        now: @autoclosure () -> ContinuousClock.Instant = .now
    ) -> Bool {
        let key = PartitionKey(topic: record.topic, partition: partition)
        let size = record.estimatedSize
        // Taken out of the dictionary so the batch and its buffers are uniquely referenced and
        // grow in place (a copy left in the dictionary would make every append copy them).
        var queue = queues.removeValue(forKey: key) ?? PartitionQueue()
        var wake = false
        if queue.batches.last.map({ $0.closed || $0.bytes + size > batchSize && $0.recordCount > 0 }) ?? true {
            if let last = queue.batches.indices.last { queue.batches[last].closed = true }
            // The clock is read only for a new batch, not for every record.
            let created = now()
            queue.batches.append(
                Batch(
                    key: key, builder: RecordBatchBuilder(compression: compression), created: created, deadline: created + deliveryTimeout))
            wake = true
        }
        let last = queue.batches.count - 1
        queue.batches[last].builder.append(key: record.key, value: record.value, headers: record.headers, timestamp: timestamp)
        queue.batches[last].completions.append(completion)
        queue.batches[last].timestamps.append(timestamp)
        queue.batches[last].bytes += size
        if queue.batches[last].bytes >= batchSize {
            queue.batches[last].closed = true
            wake = true
        }
        queues[key] = queue
        bufferedBytes += size
        unfinishedRecords += 1
        return wake
    }

    /// The batches due now, marked in flight (one per partition), with a base sequence when
    /// `idempotent`; the batches past `delivery.timeout.ms` (removed; the caller fails them);
    /// and when to look again if nothing else wakes the sender.
    mutating func drain(
        now: ContinuousClock.Instant, idempotent: Bool
    ) -> (
        ready: [Batch], expired: [Batch], nextCheck: ContinuousClock.Instant?
    ) {
        var ready: [Batch] = []
        var expired: [Batch] = []
        var nextCheck: ContinuousClock.Instant?
        func check(at instant: ContinuousClock.Instant) {
            nextCheck = nextCheck.map { min($0, instant) } ?? instant
        }
        for key in Array(queues.keys) {
            guard queues[key]?.inFlight == false, var queue = queues.removeValue(forKey: key) else { continue }
            while let head = queue.batches.first, head.deadline <= now {
                expired.append(head)
                queue.batches.removeFirst()
                bufferedBytes -= head.bytes
                unfinishedRecords -= head.recordCount
            }
            // An empty queue stays: it keeps the partition's next sequence.
            guard var head = queue.batches.first else {
                queues[key] = queue
                continue
            }
            check(at: head.deadline)
            if let retryAt = head.retryAt, retryAt > now {
                check(at: retryAt)
                queues[key] = queue
                continue
            }
            let due = head.closed || queue.batches.count > 1 || flushing > 0 || now - head.created >= linger
            guard due else {
                check(at: head.created + linger)
                queues[key] = queue
                continue
            }
            head.closed = true
            if idempotent && head.builder.baseSequence < 0 {
                head.builder.baseSequence = queue.nextSequence
                queue.nextSequence = Self.sequence(after: queue.nextSequence, count: head.recordCount)
            }
            queue.batches[0] = head
            queue.inFlight = true
            queues[key] = queue
            ready.append(head)
        }
        return (ready, expired, nextCheck)
    }

    /// The partition's batch in flight was acknowledged (or failed for good): it leaves the
    /// queue and is returned, so the caller can answer its records.
    mutating func finish(_ key: PartitionKey) -> Batch? {
        guard queues[key]?.inFlight == true, queues[key]?.batches.isEmpty == false, var queue = queues.removeValue(forKey: key) else {
            return nil
        }
        let batch = queue.batches.removeFirst()
        queue.inFlight = false
        queues[key] = queue
        bufferedBytes -= batch.bytes
        unfinishedRecords -= batch.recordCount
        return batch
    }

    /// The partition's batch in flight failed for now: it is sent again after `retryAt`.
    mutating func retry(_ key: PartitionKey, at retryAt: ContinuousClock.Instant, error: String) {
        guard queues[key]?.inFlight == true, queues[key]?.batches.isEmpty == false, var queue = queues.removeValue(forKey: key) else {
            return
        }
        queue.inFlight = false
        queue.batches[0].attempts += 1
        queue.batches[0].retryAt = retryAt
        queue.batches[0].lastError = error
        queues[key] = queue
    }

    /// The batch in flight was refused for good and not written: the partition's next
    /// sequence goes back to it, so the next batch continues where the log is.
    mutating func rollBackSequence(_ key: PartitionKey, to sequence: Int32) {
        queues[key]?.nextSequence = sequence
    }

    /// Forgets every sequence (a new producer id or epoch starts them at 0 again); batches
    /// not yet acknowledged get new sequences when they are sent again.
    mutating func resetSequences() {
        for key in Array(queues.keys) {
            queues[key]?.nextSequence = 0
            if let count = queues[key]?.batches.count {
                for index in 0..<count { queues[key]?.batches[index].builder.baseSequence = -1 }
            }
        }
    }

    /// Removes every batch not in flight (the producer is closing without waiting).
    mutating func removeAll() -> [Batch] {
        var removed: [Batch] = []
        for key in Array(queues.keys) {
            guard var queue = queues.removeValue(forKey: key) else { continue }
            let keep = queue.inFlight ? 1 : 0
            removed += queue.batches.dropFirst(keep)
            queue.batches.removeLast(queue.batches.count - keep)
            queues[key] = queue
        }
        for batch in removed {
            bufferedBytes -= batch.bytes
            unfinishedRecords -= batch.recordCount
        }
        return removed
    }

    /// Kafka's sequences wrap from Int32.max to 0.
    static func sequence(after sequence: Int32, count: Int) -> Int32 {
        Int32((Int64(sequence) + Int64(count)) % (Int64(Int32.max) + 1))
    }
}
