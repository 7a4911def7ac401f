import NIOCore
import SamsaBinary

/// Builds a complete record batch v2, as a producer sends it.
///
/// Records are encoded as they are appended; ``build()`` compresses them if asked, fills in the
/// header (lengths, last offset delta, timestamps) and computes the CRC.
/// ```swift
/// var builder = RecordBatchBuilder(compression: .lz4)
/// builder.append(key: nil, value: ByteBuffer(string: "hello"), timestamp: now)
/// let batch = try builder.build()
/// ```
public struct RecordBatchBuilder: Sendable {
    /// Producers send 0; the broker assigns the real offset.
    public var baseOffset: Int64 = 0
    /// Java producers send −1; the broker stamps its own epoch.
    public var partitionLeaderEpoch: Int32 = -1
    /// −1 unless the producer is idempotent or transactional.
    public var producerId: Int64 = -1
    public var producerEpoch: Int16 = -1
    public var baseSequence: Int32 = -1
    public var isTransactional = false
    public var compression: CompressionCodec
    /// The codec's level, or nil for Kafka's default.
    public var compressionLevel: Int?
    public var timestampType: TimestampType = .createTime
    /// Set only for transaction markers; see ``ControlRecord``.
    var isControl = false

    private var encodedRecords: ByteBuffer
    private let allocator: ByteBufferAllocator
    /// The number of records appended so far.
    public private(set) var recordCount: Int32 = 0
    /// The timestamp of the first record, or −1 for an empty batch.
    public private(set) var baseTimestamp: Int64 = -1
    /// The largest record timestamp, or −1 for an empty batch.
    public private(set) var maxTimestamp: Int64 = -1

    /// Creates an empty builder.
    public init(compression: CompressionCodec = .none, allocator: ByteBufferAllocator = ByteBufferAllocator()) {
        self.compression = compression
        self.allocator = allocator
        self.encodedRecords = allocator.buffer(capacity: 1024)
    }

    /// The size of the batch before compression.
    public var uncompressedSize: Int { RecordBatchHeader.size + encodedRecords.readableBytes }

    /// Appends a record with the next offset delta.
    public mutating func append(key: ByteBuffer?, value: ByteBuffer?, headers: [RecordHeader] = [], timestamp: Int64) {
        precondition(recordCount < Int32.max, "too many records in one batch")
        if recordCount == 0 {
            baseTimestamp = timestamp
            maxTimestamp = timestamp
        } else {
            maxTimestamp = max(maxTimestamp, timestamp)
        }
        Record.write(
            offsetDelta: recordCount, timestampDelta: timestamp &- baseTimestamp, key: key, value: value, headers: headers,
            to: &encodedRecords)
        recordCount += 1
    }

    /// The complete batch: header, (compressed) records and a valid CRC.
    ///
    /// Throws only if the codec's system library cannot be loaded.
    public func build() throws(CompressionError) -> ByteBuffer {
        let payload = try compression.compress(encodedRecords, level: compressionLevel, allocator: allocator)
        var attributes = RecordBatchAttributes(compression: compression)
        attributes.timestampType = timestampType
        if isTransactional { attributes.insert(.transactional) }
        if isControl { attributes.insert(.control) }
        let totalSize = RecordBatchHeader.size + payload.readableBytes
        precondition(totalSize - RecordBatchHeader.lengthFieldEnd <= Int32.max, "batch too large")
        let header = RecordBatchHeader(
            baseOffset: baseOffset,
            batchLength: Int32(totalSize - RecordBatchHeader.lengthFieldEnd),
            partitionLeaderEpoch: partitionLeaderEpoch,
            crc: 0,
            attributes: attributes,
            lastOffsetDelta: recordCount - 1,
            baseTimestamp: baseTimestamp,
            maxTimestamp: maxTimestamp,
            producerId: producerId,
            producerEpoch: producerEpoch,
            baseSequence: baseSequence,
            recordCount: recordCount)
        var batch = allocator.buffer(capacity: totalSize)
        header.write(to: &batch)
        batch.writeImmutableBuffer(payload)
        let crc = RecordBatch.computeChecksum(batch, at: batch.readerIndex)!
        batch.setInteger(crc, at: batch.readerIndex + RecordBatchHeader.crcOffset, endianness: .big)
        return batch
    }
}
