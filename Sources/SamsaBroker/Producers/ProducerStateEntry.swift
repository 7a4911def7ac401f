import SamsaRecords

/// One batch an idempotent producer wrote to a partition: enough to recognise a retry of it
/// and to answer the retry with the offsets the original got (Kafka's `BatchMetadata`).
struct ProducerBatchMetadata: Hashable, Sendable {
    /// The sequence number of the batch's last record.
    var lastSequence: Int32
    /// The offset of the batch's last record.
    var lastOffset: Int64
    /// Last offset minus first offset (record count − 1).
    var offsetDelta: Int32
    /// The batch's max timestamp as stored (the append time for LogAppendTime topics).
    var timestamp: Int64

    /// The sequence number of the batch's first record (sequences wrap from Int32.max to 0).
    var firstSequence: Int32 { ProducerSequence.decrement(lastSequence, by: offsetDelta) }
    /// The offset of the batch's first record.
    var firstOffset: Int64 { lastOffset - Int64(offsetDelta) }
}

/// Sequence arithmetic with Kafka's wrap-around: after Int32.max comes 0.
enum ProducerSequence {
    /// `sequence` advanced by `count` records.
    static func increment(_ sequence: Int32, by count: Int32) -> Int32 {
        if sequence > Int32.max - count { return count - (Int32.max - sequence) - 1 }
        return sequence + count
    }

    /// `sequence` moved back by `count` records.
    static func decrement(_ sequence: Int32, by count: Int32) -> Int32 {
        if sequence < count { return Int32.max - (count - sequence) + 1 }
        return sequence - count
    }

    /// True when `next` is the sequence right after `last`.
    static func isNext(_ next: Int32, after last: Int32) -> Bool {
        Int64(next) == Int64(last) + 1 || (next == 0 && last == Int32.max)
    }

    /// The sequence number of a batch's last record.
    static func lastSequence(of header: RecordBatchHeader) -> Int32 {
        increment(header.baseSequence, by: header.lastOffsetDelta)
    }
}

/// What a partition remembers about one idempotent producer: its epoch and its last few
/// batches (Kafka's `ProducerStateEntry`, without the transaction fields yet).
struct ProducerStateEntry: Hashable, Sendable {
    /// How many recent batches are kept for duplicate detection; a producer has at most five
    /// requests in flight per partition, so a retry is always one of them.
    static let retainedBatchCount = 5

    /// The latest epoch seen; older epochs are fenced.
    private(set) var epoch: Int16
    /// The most recent batches of `epoch`, oldest first; never empty.
    private(set) var batches: [ProducerBatchMetadata]
    /// When the producer last appended here, for expiry (ms since the epoch).
    var lastAppendTime: Int64

    init(epoch: Int16, batch: ProducerBatchMetadata, appendTime: Int64) {
        self.epoch = epoch
        var batches: [ProducerBatchMetadata] = []
        batches.reserveCapacity(Self.retainedBatchCount)
        batches.append(batch)
        self.batches = batches
        self.lastAppendTime = appendTime
    }

    /// An entry restored from a snapshot; `batches` holds 1...5 batches of `epoch`, oldest first.
    init(epoch: Int16, batches: [ProducerBatchMetadata], lastAppendTime: Int64) {
        precondition(!batches.isEmpty && batches.count <= Self.retainedBatchCount)
        self.epoch = epoch
        self.batches = batches
        self.lastAppendTime = lastAppendTime
    }

    /// The sequence number of the last record written by this producer.
    var lastSequence: Int32 { batches[batches.count - 1].lastSequence }

    /// The retained batch that `header` repeats (same epoch and sequence range), if any.
    func duplicate(of header: RecordBatchHeader) -> ProducerBatchMetadata? {
        guard header.producerEpoch == epoch else { return nil }
        let last = ProducerSequence.lastSequence(of: header)
        return batches.first { $0.firstSequence == header.baseSequence && $0.lastSequence == last }
    }

    /// Records a batch written by the producer; a new epoch forgets the old epoch's batches.
    mutating func add(epoch newEpoch: Int16, batch: ProducerBatchMetadata, appendTime: Int64) {
        if newEpoch != epoch {
            epoch = newEpoch
            batches.removeAll(keepingCapacity: true)
        }
        if batches.count == Self.retainedBatchCount {
            batches.removeFirst()
        }
        batches.append(batch)
        lastAppendTime = max(lastAppendTime, appendTime)
    }
}
