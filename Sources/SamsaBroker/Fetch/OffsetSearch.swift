import NIOCore
import SamsaRecords
import SamsaStorage

/// Record-level lookups by timestamp for ListOffsets, on top of the log's batch-level index.
///
/// The log finds the first *batch* whose max timestamp reaches a target; Kafka answers with the
/// first *record* (`FileRecords.searchForTimestamp`), so the batches from there on are decoded
/// until a record qualifies. Blocking: call on the blocking pool.
enum OffsetSearch {
    /// A record found: its timestamp, offset and the leader epoch of its batch (-1 if unset).
    struct Found: Hashable, Sendable {
        var timestamp: Int64
        var offset: Int64
        var leaderEpoch: Int32
    }

    /// How much one batch may decompress to while searching.
    static let maxDecompressedBytes = 64 << 20
    /// How many bytes are read from the log at a time while searching.
    static let readChunkBytes = 1 << 20

    /// The first record at or after the log start whose timestamp is ≥ `target`.
    static func firstRecord(in log: PartitionLog, atOrAfter target: Int64) throws -> Found? {
        guard let candidate = try log.offset(forTimestamp: target) else { return nil }
        return try scan(log, from: candidate.offset) { header, record in
            header.maxTimestamp >= target ? (record.map { $0.timestamp >= target } ?? true) : false
        }
    }

    /// The record with the largest timestamp (ListOffsets -3, KIP-734): the first record, in the
    /// first batch whose max timestamp is the log's largest, that carries that timestamp. The
    /// timestamp returned is that batch's max timestamp, as Kafka returns it.
    static func maxTimestampRecord(in log: PartitionLog) throws -> Found? {
        guard let maximum = try largestTimestamp(in: log) else { return nil }
        guard let candidate = try log.offset(forTimestamp: maximum) else { return nil }
        let found = try scan(log, from: candidate.offset) { header, record in
            header.maxTimestamp == maximum ? (record.map { $0.timestamp == maximum } ?? true) : false
        }
        return found.map { Found(timestamp: maximum, offset: $0.offset, leaderEpoch: $0.leaderEpoch) }
    }

    /// The largest batch max timestamp in the log, found by bisecting on the log's own
    /// "first batch at or after t" lookup, which succeeds exactly for t ≤ the largest timestamp.
    /// About 64 index lookups, without reading the log.
    static func largestTimestamp(in log: PartitionLog) throws -> Int64? {
        guard let first = try log.offset(forTimestamp: Int64.min) else { return nil }
        if try log.offset(forTimestamp: Int64.max) != nil { return Int64.max }
        // Invariant: a batch reaches `low`; none reaches `high`.
        var low = first.timestamp
        var high = Int64.max
        // The distance between two Int64 values fits in a UInt64 (timestamps may be negative).
        while UInt64(bitPattern: high &- low) > 1 {
            let middle = low &+ Int64(bitPattern: UInt64(bitPattern: high &- low) / 2)
            if let found = try log.offset(forTimestamp: middle) {
                low = max(middle, found.timestamp)
            } else {
                high = middle
            }
        }
        return low
    }

    /// Walks the batches from `offset`; `matches` is asked first with the batch alone (nil
    /// record: is the batch worth decoding?) and then with each of its records.
    private static func scan(
        _ log: PartitionLog, from offset: Int64, matches: (RecordBatchHeader, BatchRecord?) -> Bool
    ) throws -> Found? {
        let logStart = log.logStartOffset
        var next = max(offset, logStart)
        while true {
            let info: FetchDataInfo
            do throws(StorageError) {
                info = try log.read(from: next, maxBytes: readChunkBytes, isolation: .logEnd, minOneBatch: true)
            } catch {
                guard error.isOffsetOutOfRange else { throw error }
                return nil
            }
            guard let range = info.records else { return nil }
            var scanner = RecordBatchScanner(try range.read(), allowsTrailingPartialBatch: true)
            var advanced = false
            while let batch = try scanner.nextBatch() {
                let header = batch.header
                advanced = true
                next = header.nextOffset
                guard matches(header, nil) else { continue }
                var records = try batch.records(maxDecompressedBytes: maxDecompressedBytes)
                while let record = try records.next() {
                    if record.offset >= logStart, matches(header, record) {
                        return Found(
                            timestamp: record.timestamp, offset: record.offset,
                            leaderEpoch: header.partitionLeaderEpoch >= 0 ? header.partitionLeaderEpoch : -1)
                    }
                }
            }
            // Only a cut-off batch was read: the log changed under us or is damaged; stop.
            if !advanced { return nil }
        }
    }
}
