import NIOCore
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
        return AbortedTransaction(
            producerId: header.producerId, firstOffset: firstOffset,
            lastOffset: header.lastOffset, lastStableOffset: lastStableOffset)
    }

    /// Forgets transactions that started at or after `offset` (after truncation).
    mutating func truncate(from offset: Int64) {
        ongoing = ongoing.filter { $0.value < offset }
    }

    /// True when the control batch `bytes` holds an abort marker (``ControlRecordType/abort``).
    static func isAbortMarker(_ bytes: ByteBuffer) -> Bool {
        guard let batch = try? RecordBatch(bytes), let marker = try? batch.controlRecord() else { return false }
        return marker.type == .abort
    }
}
