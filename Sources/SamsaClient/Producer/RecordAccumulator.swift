import NIOCore
import SamsaRecords

/// A producer's records waiting to be sent, batched per partition. A plain value guarded by
/// the producer's lock: appends add to the partition's last open batch; ``drain(now:)``
/// hands out the batches that are due (full, lingered long enough, flushed, or retried after
/// their backoff), several per partition in flight but always in order.
struct RecordAccumulator {
    /// One record's promise: the caller waiting in `send`, or nobody (fire and forget).
    enum Completion {
        case waiting(CheckedContinuation<RecordMetadata, any Error>)
        case callback(@Sendable (Result<RecordMetadata, any Error>) -> Void)
        case none
    }

    /// Records of one partition, sent together.
    struct Batch {
        /// Tells this batch apart from the partition's others while several are in flight.
        let id: UInt64
        let key: TopicPartition
        var builder: RecordBatchBuilder
        /// The records that wait for their outcome (`send`, or a delivery callback). Records
        /// sent without one (the bulk path, reported per batch) leave nothing here, so a
        /// record costs no entry.
        var completions: [PendingCompletion] = []
        private(set) var recordCount = 0
        var bytes = 0
        let created: ContinuousClock.Instant
        let deadline: ContinuousClock.Instant
        /// No more records go into it (it is full, or was sent once).
        var closed = false
        /// Sent and not yet answered.
        var inFlight = false
        /// Its sequence was given up while it was in flight (an earlier batch was refused for
        /// good, or the producer id changed): the broker will refuse it, and it is sent again
        /// with a new sequence.
        var sequenceInvalid = false
        var attempts = 0
        var retryAt: ContinuousClock.Instant?
        var lastError: String?

        init(
            id: UInt64, key: TopicPartition, builder: RecordBatchBuilder, created: ContinuousClock.Instant,
            deadline: ContinuousClock.Instant
        ) {
            self.id = id
            self.key = key
            self.builder = builder
            self.created = created
            self.deadline = deadline
        }

        /// Counts a record appended to the builder, keeping its completion if it has one.
        mutating func added(timestamp: Int64, completion: Completion) {
            if case .none = completion {
            } else {
                completions.append(PendingCompletion(index: recordCount, timestamp: timestamp, completion: completion))
            }
            recordCount += 1
        }
    }

    /// A record's completion, with what its outcome needs: its place in the batch (for its
    /// offset) and its timestamp.
    struct PendingCompletion {
        let index: Int
        let timestamp: Int64
        let completion: Completion
    }

    private struct PartitionQueue {
        /// In order: the batches in flight come first (a prefix, bar ones sent again), then
        /// those waiting.
        var batches: [Batch] = []
        var inFlight = 0
        var nextSequence: Int32 = 0
        /// The broker acknowledged a batch with the current sequences. Until then one batch
        /// goes at a time: a broker that does not know the producer yet accepts any sequence
        /// (KIP-360), so a second batch could land before a first that failed.
        var acknowledged = false

        func index(of id: UInt64) -> Int? { batches.firstIndex { $0.id == id } }

        /// Adds the record to the last batch, or to a new one numbered `newBatch` when the last
        /// is closed or would grow past `batchSize`; returns whether the sender should look
        /// again now, and whether `newBatch` was used.
        mutating func append(
            _ record: ProducerRecord, key: TopicPartition, size: Int, timestamp: Int64, completion: Completion, newBatch: UInt64,
            batchSize: Int, compression: CompressionCodec, deliveryTimeout: Duration,
            now: @autoclosure () -> ContinuousClock.Instant
        ) -> (wake: Bool, usedId: Bool) {
            var wake = false
            var usedId = false
            // Read in place: `batches.last` would copy the batch (and retain all it holds).
            let lastIndex = batches.count - 1
            if lastIndex < 0 || batches[lastIndex].closed
                || batches[lastIndex].bytes + size > batchSize && batches[lastIndex].recordCount > 0
            {
                if lastIndex >= 0 { batches[lastIndex].closed = true }
                // The clock is read only for a new batch, not for every record.
                let created = now()
                batches.append(
                    Batch(
                        id: newBatch, key: key, builder: RecordBatchBuilder(compression: compression), created: created,
                        deadline: created + deliveryTimeout))
                wake = true
                usedId = true
            }
            let last = batches.count - 1
            batches[last].builder.append(key: record.key, value: record.value, headers: record.headers, timestamp: timestamp)
            batches[last].added(timestamp: timestamp, completion: completion)
            batches[last].bytes += size
            if batches[last].bytes >= batchSize {
                batches[last].closed = true
                wake = true
            }
            return (wake, usedId)
        }
    }

    let batchSize: Int
    let linger: Duration
    let deliveryTimeout: Duration
    let compression: CompressionCodec
    /// Batches of one partition in flight at once (`max.in.flight.requests.per.connection`).
    let maxInFlight: Int
    private var queues: [TopicPartition: PartitionQueue] = [:]
    /// Where the queue appended to last is, so a producer that keeps sending to one partition
    /// finds it without hashing its key for every record. Every other mutating method takes
    /// queues out and puts them back (which moves them), so it forgets this first.
    private var lastQueue: (key: TopicPartition, index: Dictionary<TopicPartition, PartitionQueue>.Index)?
    private var nextBatchId: UInt64 = 0
    /// Bytes of records not yet acknowledged.
    private(set) var bufferedBytes = 0
    /// Records appended and not yet acknowledged or failed.
    private(set) var unfinishedRecords = 0
    /// While above 0, every batch is due at once (`flush`, `close`).
    var flushing = 0

    init(batchSize: Int, lingerMs: Int64, deliveryTimeoutMs: Int64, compression: CompressionCodec, maxInFlight: Int = 5) {
        self.batchSize = batchSize
        self.linger = .milliseconds(lingerMs)
        self.deliveryTimeout = .milliseconds(deliveryTimeoutMs)
        self.compression = compression
        self.maxInFlight = max(1, maxInFlight)
    }

    /// Adds a record to its partition's open batch (or a new one). True when the sender should
    /// look again now: a batch filled up, or a partition got its first batch (a linger starts).
    mutating func append(
        _ record: ProducerRecord, partition: Int32, timestamp: Int64, completion: Completion,
        now: @autoclosure () -> ContinuousClock.Instant = .now
    ) -> Bool {
        let key = TopicPartition(record.topic, partition)
        let size = record.estimatedSize
        let newId = nextBatchId &+ 1
        let index: Dictionary<TopicPartition, PartitionQueue>.Index
        if let last = lastQueue, last.key == key {
            index = last.index
        } else {
            if queues[key] == nil { queues[key] = PartitionQueue() }
            index = queues.index(forKey: key)!
            lastQueue = (key, index)
        }
        // Changed in place in the dictionary (the batch's buffers stay uniquely referenced, so
        // they grow without being copied).
        let (wake, usedId) = queues.values[index].append(
            record, key: key, size: size, timestamp: timestamp, completion: completion, newBatch: newId,
            batchSize: batchSize, compression: compression, deliveryTimeout: deliveryTimeout, now: now())
        if usedId { nextBatchId = newId }
        bufferedBytes += size
        unfinishedRecords += 1
        return wake
    }

    /// The batches due now, marked in flight, with a base sequence when `idempotent`; the
    /// batches past `delivery.timeout.ms` (removed; the caller fails them) and whether one of
    /// them had a sequence (the partition's sequences then have a gap, and the caller needs a
    /// new producer epoch); and when to look again if nothing else wakes the sender.
    ///
    /// A partition sends its batches in order, up to ``maxInFlight`` at once. A batch sent
    /// again goes alone (nothing else of its partition in flight), so the broker sees the
    /// sequences in order once more before the partition pipelines again.
    mutating func drain(
        now: ContinuousClock.Instant, idempotent: Bool
    ) -> (
        ready: [Batch], expired: [Batch], expiredWithSequence: Bool, nextCheck: ContinuousClock.Instant?
    ) {
        lastQueue = nil
        var ready: [Batch] = []
        var expired: [Batch] = []
        var expiredWithSequence = false
        var nextCheck: ContinuousClock.Instant?
        func check(at instant: ContinuousClock.Instant) {
            nextCheck = nextCheck.map { min($0, instant) } ?? instant
        }
        for key in Array(queues.keys) {
            // Nothing to do while every batch is in flight, or as many as may be.
            guard let waiting = queues[key], waiting.inFlight < maxInFlight, waiting.batches.count > waiting.inFlight else { continue }
            var queue = queues.removeValue(forKey: key)!
            // Batches expire only while none of the partition is in flight: answers still to
            // come could otherwise refer to them.
            while queue.inFlight == 0, let head = queue.batches.first, head.deadline <= now {
                expired.append(head)
                expiredWithSequence = expiredWithSequence || head.builder.baseSequence >= 0
                queue.batches.removeFirst()
                bufferedBytes -= head.bytes
                unfinishedRecords -= head.recordCount
            }
            var index = 0
            let limit = idempotent && !queue.acknowledged ? 1 : maxInFlight
            while index < queue.batches.count, queue.inFlight < limit {
                var batch = queue.batches[index]
                if batch.inFlight {
                    // A batch that will come back for a new sequence holds back the later ones.
                    if batch.sequenceInvalid { break }
                    index += 1
                    continue
                }
                check(at: batch.deadline)
                if let retryAt = batch.retryAt, retryAt > now {
                    check(at: retryAt)
                    break
                }
                if batch.attempts > 0 && queue.inFlight > 0 { break }
                let due = batch.closed || index < queue.batches.count - 1 || flushing > 0 || now - batch.created >= linger
                guard due else {
                    check(at: batch.created + linger)
                    break
                }
                batch.closed = true
                batch.inFlight = true
                batch.sequenceInvalid = false
                if idempotent && batch.builder.baseSequence < 0 {
                    batch.builder.baseSequence = queue.nextSequence
                    queue.nextSequence = Self.sequence(after: queue.nextSequence, count: batch.recordCount)
                }
                queue.batches[index] = batch
                queue.inFlight += 1
                ready.append(batch)
                index += 1
            }
            queues[key] = queue
        }
        return (ready, expired, expiredWithSequence, nextCheck)
    }

    /// The batch was acknowledged (or failed for good): it leaves the queue and is returned,
    /// so the caller can answer its records.
    mutating func finish(_ sent: Batch, acknowledged: Bool) -> Batch? {
        lastQueue = nil
        guard var queue = queues.removeValue(forKey: sent.key) else { return nil }
        defer { queues[sent.key] = queue }
        guard let index = queue.index(of: sent.id), queue.batches[index].inFlight else { return nil }
        let batch = queue.batches.remove(at: index)
        if acknowledged && !batch.sequenceInvalid { queue.acknowledged = true }
        queue.inFlight -= 1
        bufferedBytes -= batch.bytes
        unfinishedRecords -= batch.recordCount
        return batch
    }

    /// The batch failed for now: it is sent again after `retryAt`.
    mutating func retry(_ sent: Batch, at retryAt: ContinuousClock.Instant, error: String) {
        lastQueue = nil
        guard let index = queues[sent.key]?.index(of: sent.id), queues[sent.key]?.batches[index].inFlight == true else { return }
        queues[sent.key]!.inFlight -= 1
        queues[sent.key]!.batches[index].inFlight = false
        queues[sent.key]!.batches[index].attempts += 1
        queues[sent.key]!.batches[index].retryAt = retryAt
        queues[sent.key]!.batches[index].lastError = error
    }

    /// Whether the broker's refusal of `sent` for its sequence (OUT_OF_ORDER_SEQUENCE_NUMBER)
    /// follows from an earlier failure: a batch before it is not acknowledged yet, or its own
    /// sequence was given up. Then it is sent again rather than failed.
    func sequenceRefusalIsExpected(_ sent: Batch) -> Bool {
        guard let queue = queues[sent.key], let index = queue.index(of: sent.id) else { return false }
        return index > 0 || queue.batches[index].sequenceInvalid
    }

    /// The batch was refused for good and not written: the partition's next sequence goes
    /// back to it, so the batches after it continue where the log is (those in flight come
    /// back refused and go again with their new sequences).
    mutating func rollBackSequence(after sent: Batch) {
        lastQueue = nil
        guard sent.builder.baseSequence >= 0, var queue = queues.removeValue(forKey: sent.key) else { return }
        queue.nextSequence = sent.builder.baseSequence
        let later = (queue.index(of: sent.id).map { $0 + 1 }) ?? 0
        for index in queue.batches.indices where index >= later {
            queue.batches[index].builder.baseSequence = -1
            if queue.batches[index].inFlight { queue.batches[index].sequenceInvalid = true }
        }
        queues[sent.key] = queue
    }

    /// Forgets every sequence (a new producer id or epoch starts them at 0 again); batches
    /// not yet acknowledged get new sequences when they are sent again.
    mutating func resetSequences() {
        lastQueue = nil
        for key in Array(queues.keys) {
            guard var queue = queues.removeValue(forKey: key) else { continue }
            queue.nextSequence = 0
            queue.acknowledged = false
            for index in queue.batches.indices {
                queue.batches[index].builder.baseSequence = -1
                if queue.batches[index].inFlight { queue.batches[index].sequenceInvalid = true }
            }
            queues[key] = queue
        }
    }

    /// Removes every batch not in flight (the producer is closing without waiting).
    mutating func removeAll() -> [Batch] {
        lastQueue = nil
        var removed: [Batch] = []
        for key in Array(queues.keys) {
            guard var queue = queues.removeValue(forKey: key) else { continue }
            removed += queue.batches.filter { !$0.inFlight }
            queue.batches.removeAll { !$0.inFlight }
            queues[key] = queue
        }
        for batch in removed {
            bufferedBytes -= batch.bytes
            unfinishedRecords -= batch.recordCount
        }
        return removed
    }

    /// How many batches of the partition are in flight.
    func inFlightCount(topic: String, partition: Int32) -> Int {
        queues[TopicPartition(topic, partition)]?.inFlight ?? 0
    }

    /// Kafka's sequences wrap from Int32.max to 0.
    static func sequence(after sequence: Int32, count: Int) -> Int32 {
        Int32((Int64(sequence) + Int64(count)) % (Int64(Int32.max) + 1))
    }
}
