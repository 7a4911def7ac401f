import SamsaProtocol
import SamsaRecords

/// What the producer state says about an incoming batch.
enum ProducerCheck: Sendable {
    /// Append it.
    case accept
    /// A retry of a batch already in the log: answer with the original's offsets, append nothing.
    case duplicate(ProducerBatchMetadata)
    /// Refuse it with this error (INVALID_PRODUCER_EPOCH, OUT_OF_ORDER_SEQUENCE_NUMBER).
    case reject(ErrorCode, String)
}

/// The idempotent producers of one partition, by producer id: the checks Kafka's
/// `ProducerAppendInfo` makes for client appends, and the bookkeeping after an append.
struct ProducerTable: Sendable {
    private(set) var producers: [Int64: ProducerStateEntry] = [:]

    init() {}

    init(producers: [Int64: ProducerStateEntry]) {
        self.producers = producers
    }

    /// Decides what to do with `header`, a batch with a producer id, as Kafka 3.x/4.x does:
    /// a repeat of one of the producer's last five batches is a duplicate (checked first); an
    /// older epoch is fenced; a new epoch must start at sequence 0; within an epoch the batch
    /// must continue the sequence. A producer this partition does not know (new, expired or
    /// forgotten) may start at any sequence, as Kafka allows since KIP-360.
    func check(_ header: RecordBatchHeader, partition: some CustomStringConvertible) -> ProducerCheck {
        guard let entry = producers[header.producerId] else { return .accept }
        if let duplicate = entry.duplicate(of: header) {
            return .duplicate(duplicate)
        }
        if header.producerEpoch < entry.epoch {
            return .reject(
                .invalidProducerEpoch,
                "Epoch of producer \(header.producerId) in \(partition) is \(header.producerEpoch), which is smaller than the last seen epoch \(entry.epoch)"
            )
        }
        if header.producerEpoch != entry.epoch {
            if header.baseSequence != 0 {
                return .reject(
                    .outOfOrderSequenceNumber,
                    "Invalid sequence number for new epoch of producer \(header.producerId) in partition \(partition): \(header.producerEpoch) (request epoch), \(header.baseSequence) (seq. number), \(entry.epoch) (current producer epoch)"
                )
            }
        } else if !ProducerSequence.isNext(header.baseSequence, after: entry.lastSequence) {
            return .reject(
                .outOfOrderSequenceNumber,
                "Out of order sequence number for producer \(header.producerId) in partition \(partition): \(header.baseSequence) (incoming seq. number), \(entry.lastSequence) (current end sequence number)"
            )
        }
        return .accept
    }

    /// Notes that `header`'s batch was written with its last record at `lastOffset`.
    ///
    /// - Parameters:
    ///   - timestamp: the batch's max timestamp as stored.
    ///   - appendTime: the broker's clock, for expiry.
    mutating func record(_ header: RecordBatchHeader, lastOffset: Int64, timestamp: Int64, appendTime: Int64) {
        let batch = ProducerBatchMetadata(
            lastSequence: ProducerSequence.lastSequence(of: header), lastOffset: lastOffset,
            offsetDelta: header.lastOffsetDelta, timestamp: timestamp)
        if producers[header.producerId] != nil {
            producers[header.producerId]!.add(epoch: header.producerEpoch, batch: batch, appendTime: appendTime)
        } else {
            producers[header.producerId] = ProducerStateEntry(epoch: header.producerEpoch, batch: batch, appendTime: appendTime)
        }
    }

    /// Forgets producers that have not appended for `expiration` ms (`producer.id.expiration.ms`);
    /// returns how many were removed.
    @discardableResult
    mutating func removeExpired(now: Int64, expiration: Int64) -> Int {
        let before = producers.count
        producers = producers.filter { now - $0.value.lastAppendTime < expiration }
        return before - producers.count
    }

    /// Forgets producers whose last batch is below `offset` (the log start moved past them);
    /// returns how many were removed.
    @discardableResult
    mutating func removeBefore(offset: Int64) -> Int {
        let before = producers.count
        producers = producers.filter { $0.value.batches.last!.lastOffset >= offset }
        return before - producers.count
    }
}
