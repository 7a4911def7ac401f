import NIOCore
import SamsaProtocol
import SamsaRecords

/// Turns one partition of a Fetch answer into records, as Kafka's consumer does: records
/// before the fetch position are skipped (a compressed batch starts earlier), control batches
/// are never shown, and with read_committed the batches of aborted transactions are dropped
/// (using the aborted-transaction list the broker sends with the data).
enum FetchDecoder {
    /// The records, the position after the last complete batch (past skipped batches too), and
    /// the bytes the records hold: the answer's, plus the decompressed bytes of compressed batches.
    static func decode(
        topic: String, partition: Int32, data: FetchResponse.PartitionData, position: Int64, isolation: IsolationLevel,
        maxDecompressedBytes: Int = 256 * 1024 * 1024
    ) throws -> (records: [ConsumerRecord], next: Int64, bytes: Int) {
        guard let buffer = data.records, buffer.readableBytes > 0 else { return ([], position, 0) }
        var aborted = (isolation == .readCommitted ? data.abortedTransactions ?? [] : []).sorted { $0.firstOffset < $1.firstOffset }
        var abortedProducers = Set<Int64>()
        var scanner = RecordBatchScanner(buffer, allowsTrailingPartialBatch: true, verifiesChecksums: true)
        var records: [ConsumerRecord] = []
        var decompressedBytes = 0
        var next = position
        while let batch = try scanner.nextBatch() {
            let header = batch.header
            next = max(next, header.nextOffset)
            while let first = aborted.first, first.firstOffset <= header.lastOffset {
                abortedProducers.insert(first.producerId)
                aborted.removeFirst()
            }
            if header.isControl {
                if isolation == .readCommitted, let record = try batch.decodeRecords(maxDecompressedBytes: 1024).first,
                    (try? ControlRecord(record.record))?.type == .abort
                {
                    abortedProducers.remove(header.producerId)
                }
                continue
            }
            if isolation == .readCommitted && header.isTransactional && abortedProducers.contains(header.producerId) { continue }
            guard header.lastOffset >= position else { continue }
            var batchRecords = try batch.records(maxDecompressedBytes: maxDecompressedBytes)
            // The records of a compressed batch are slices of its decompressed bytes, which they
            // keep alive: those count against the consumer's buffer limit, not the wire bytes.
            if header.compression != .none { decompressedBytes += batchRecords.remainingBytes }
            while let record = try batchRecords.next() {
                guard record.offset >= position else { continue }
                records.append(
                    ConsumerRecord(
                        topic: topic, partition: partition, offset: record.offset, timestamp: record.timestamp,
                        timestampType: header.timestampType, key: record.key, value: record.value, headers: record.headers))
            }
        }
        return (records, next, buffer.readableBytes + decompressedBytes)
    }
}
