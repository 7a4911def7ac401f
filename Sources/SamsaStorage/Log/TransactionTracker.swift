import NIOCore
import SamsaBinary
import SamsaRecords

/// The transactions still open in a partition (producer id → offset of its first transactional
/// batch), kept up to date from the batches appended; it yields the aborted-transaction entries
/// for the transaction index and the first unstable offset for the last stable offset.
///
/// Producer state proper (sequence numbers, epochs) belongs to the broker; this is only what
/// the log needs for `read_committed` reads.
struct TransactionTracker: Hashable, Sendable {
    /// Producer id → first offset of its open transaction.
    private(set) var ongoing: [Int64: Int64] = [:]

    init(ongoing: [Int64: Int64] = [:]) {
        self.ongoing = ongoing
    }

    /// The offset of the oldest open transaction's first batch.
    var firstUnstableOffset: Int64? { ongoing.values.min() }

    /// Applies one appended batch; returns the aborted-transaction entry when it is an abort marker.
    mutating func apply(_ header: RecordBatchHeader, bytes: ByteBuffer) -> AbortedTransaction? {
        guard header.isTransactional, header.hasProducerId else { return nil }
        guard header.isControl else {
            if ongoing[header.producerId] == nil { ongoing[header.producerId] = header.baseOffset }
            return nil
        }
        let firstOffset = ongoing.removeValue(forKey: header.producerId) ?? header.baseOffset
        guard Self.isAbortMarker(bytes) else { return nil }
        let lastStableOffset = min(firstUnstableOffset ?? header.nextOffset, header.nextOffset)
        return AbortedTransaction(producerId: header.producerId, firstOffset: firstOffset,
                                  lastOffset: header.lastOffset, lastStableOffset: lastStableOffset)
    }

    /// Forgets transactions that started at or after `offset` (after truncation).
    mutating func truncate(from offset: Int64) {
        ongoing = ongoing.filter { $0.value < offset }
    }

    /// True when the control batch `bytes` holds an abort marker: its single record's key is
    /// `version: int16, type: int16` with type 0 for abort and 1 for commit. Control batches
    /// are never compressed.
    static func isAbortMarker(_ bytes: ByteBuffer) -> Bool {
        guard var records = bytes.getSlice(at: bytes.readerIndex + RecordBatchHeader.size,
                                           length: bytes.readableBytes - RecordBatchHeader.size)
        else { return false }
        do {
            _ = try records.readVarint()  // record length
            _ = try records.readKafkaInt8()  // attributes
            _ = try records.readVarlong()  // timestamp delta
            _ = try records.readVarint()  // offset delta
            let keyLength = try records.readVarint()
            guard keyLength >= 4 else { return false }
            _ = try records.readKafkaInt16()  // version
            return try records.readKafkaInt16() == 0
        } catch {
            return false
        }
    }
}
