import NIOCore
import SamsaBinary

extension RecordBatch {
    /// The records of this batch, decoded one at a time as the iterator advances.
    ///
    /// A compressed batch is decompressed here, once, into at most `maxDecompressedBytes` bytes;
    /// an uncompressed one is read in place and its keys and values are slices of ``bytes``.
    /// Does not verify the CRC (see ``verifyChecksum()``).
    public func records(
        maxDecompressedBytes: Int,
        allocator: ByteBufferAllocator = ByteBufferAllocator()
    ) throws(RecordBatchError) -> RecordIterator {
        let payload = recordsBytes
        let codec = header.compression
        guard codec != .none else {
            return RecordIterator(header: header, records: payload)
        }
        do throws(CompressionError) {
            let plain = try codec.decompress(payload, maxDecompressedBytes: maxDecompressedBytes, allocator: allocator)
            return RecordIterator(header: header, records: plain)
        } catch {
            throw .compression(error)
        }
    }

    /// Decodes every record (decompressing first if needed).
    public func decodeRecords(maxDecompressedBytes: Int) throws(RecordBatchError) -> [BatchRecord] {
        var iterator = try records(maxDecompressedBytes: maxDecompressedBytes)
        var result: [BatchRecord] = []
        // The count is the sender's word: reserve no more than the bytes can hold.
        result.reserveCapacity(min(iterator.remainingCount, iterator.remainingBytes / RecordIterator.minimumRecordBytes))
        do throws(WireFormatError) {
            while let record = try iterator.next() { result.append(record) }
        } catch {
            throw .wireFormat(error)
        }
        return result
    }
}

/// Decodes the records of one batch lazily, each length checked against the bytes left.
///
/// Exactly ``RecordBatchHeader/recordCount`` records must fill the record bytes: fewer bytes
/// than records, or bytes left after the last record, are errors.
/// ```swift
/// var records = try batch.records(maxDecompressedBytes: 8 << 20)
/// while let record = try records.next() { ... }
/// ```
public struct RecordIterator: Sendable {
    private let header: RecordBatchHeader
    private var remaining: ByteBuffer
    private var index: Int32 = 0
    private let timestampOverride: Int64?

    init(header: RecordBatchHeader, records: ByteBuffer) {
        self.header = header
        self.remaining = records
        self.timestampOverride = header.timestampType == .logAppendTime ? header.maxTimestamp : nil
    }

    /// How many records are still to come.
    public var remainingCount: Int { Int(header.recordCount - index) }

    /// The record bytes not decoded yet.
    public var remainingBytes: Int { remaining.readableBytes }

    /// The fewest bytes a record takes: its length, attributes, timestamp and offset deltas,
    /// key and value lengths and header count, one byte each.
    static let minimumRecordBytes = 7

    /// The next record, or nil after the last one.
    public mutating func next() throws(WireFormatError) -> BatchRecord? {
        guard index < header.recordCount else {
            guard remaining.readableBytes == 0 else {
                throw WireFormatError.invalidValue(
                    "\(remaining.readableBytes) bytes left after the batch's \(header.recordCount) records"
                ).adding(context: "RecordBatch.records")
            }
            return nil
        }
        guard remaining.readableBytes > 0 else {
            throw WireFormatError.invalidValue("batch declares \(header.recordCount) records but holds \(index)")
                .adding(context: "RecordBatch.records")
        }
        let record: Record
        do throws(WireFormatError) {
            record = try Record.read(from: &remaining)
        } catch {
            throw error.adding(context: "RecordBatch.records[\(index)]")
        }
        index += 1
        return BatchRecord(
            offset: header.baseOffset &+ Int64(record.offsetDelta),
            timestamp: timestampOverride ?? header.baseTimestamp &+ record.timestampDelta,
            record: record)
    }
}
