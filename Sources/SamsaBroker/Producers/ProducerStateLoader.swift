import NIOCore
import SamsaRecords
import SamsaStorage

/// Rebuilds a partition's producer state from its log after a start, reading batch headers
/// only: each header gives the producer id, epoch, sequence range and offsets, so no record
/// is decoded and large batches are skipped over rather than read.
///
/// With a usable ``ProducerStateSnapshot`` the state is the snapshot's table brought up to
/// date by the batches written after it. Without one, only the tail of the log is scanned:
/// the batches whose timestamps fall in the last `window` milliseconds (found through the
/// time index). A retry arrives within the producer's `delivery.timeout.ms` (two minutes by
/// default), so a window of a few times that recognises every retried duplicate; a producer
/// idle for longer is then unknown, and Kafka accepts any sequence from an unknown producer.
enum ProducerStateLoader {
    /// Bytes read per positional read while walking headers.
    static let chunkSize = 64 * 1024

    /// The producer table of `log` as of its current end, from the batches of the last
    /// `window` milliseconds before `now`.
    static func load(_ log: PartitionLog, now: Int64, window: Int64) throws -> ProducerTable {
        var table = ProducerTable()
        guard let first = try log.offset(forTimestamp: now - window) else { return table }
        try scan(log, from: max(first.offset, log.logStartOffset), into: &table)
        return table
    }

    /// The producer table of `log` as of its current end, from `snapshot` and the batches
    /// after it. Nil when the snapshot covers offsets the log does not have (the log was
    /// truncated by recovery after it was taken): it is then unusable.
    static func load(_ log: PartitionLog, snapshot: ProducerStateSnapshot) throws -> ProducerTable? {
        guard snapshot.offset <= log.logEndOffset else { return nil }
        var table = snapshot.table
        let logStart = log.logStartOffset
        // Retention or DeleteRecords may have moved the log start past the snapshot.
        table.removeBefore(offset: logStart)
        try scan(log, from: max(snapshot.offset, logStart), into: &table)
        return table
    }

    /// Applies the headers of every producer batch from `start` to the log end to `table`.
    /// Returns how many batches it read.
    @discardableResult
    static func scan(_ log: PartitionLog, from start: Int64, into table: inout ProducerTable) throws -> Int {
        let end = log.logEndOffset
        var offset = start
        var batchCount = 0
        while offset < end {
            let data = try log.read(from: offset, maxBytes: Int(Int32.max), isolation: .logEnd, minOneBatch: true)
            guard let range = data.records else { break }
            let limit = range.position + Int64(range.length)
            var position = range.position
            var chunk = ByteBuffer()
            var chunkStart = position
            let before = offset
            while position + Int64(RecordBatchHeader.size) <= limit, offset < end {
                if position + Int64(RecordBatchHeader.size) > chunkStart + Int64(chunk.readableBytes) {
                    chunk = try range.file.read(at: position, count: Int(min(Int64(chunkSize), limit - position)))
                    chunkStart = position
                    guard chunk.readableBytes >= RecordBatchHeader.size else { break }
                }
                let header = try RecordBatchHeader(decoding: chunk, at: chunk.readerIndex + Int(position - chunkStart))
                if header.hasProducerId, !header.isControl, header.lastOffset >= start {
                    let lastOffset = header.lastOffset
                    table.record(header, lastOffset: lastOffset, timestamp: header.maxTimestamp, appendTime: header.maxTimestamp)
                }
                batchCount += 1
                offset = max(offset, header.nextOffset)
                position += Int64(header.totalSize)
            }
            // A read always starts at the batch holding `offset`, so no progress means the end.
            if offset == before { break }
        }
        return batchCount
    }
}
