import NIOCore
import SamsaBinary

/// The 61-byte header of a Kafka record batch, magic v2.
///
/// The same bytes travel in produce requests, sit in log segments and go out in fetch responses:
/// ```
/// off size field
///  0   8   baseOffset            producers send 0; the broker overwrites it on append
///  8   4   batchLength           bytes after this field (total size − 12)
/// 12   4   partitionLeaderEpoch  outside the CRC; stamped by the broker
/// 16   1   magic = 2
/// 17   4   crc                   CRC-32C over bytes [21, end of batch)
/// 21   2   attributes
/// 23   4   lastOffsetDelta
/// 27   8   baseTimestamp
/// 35   8   maxTimestamp
/// 43   8   producerId
/// 51   2   producerEpoch
/// 53   4   baseSequence
/// 57   4   recordCount           number of records, even when they are compressed
/// 61   …   records
/// ```
public struct RecordBatchHeader: Hashable, Sendable {
    /// The offset of the first record; producers send 0 and the broker assigns it.
    public var baseOffset: Int64
    /// The number of bytes after the length field: the batch's total size minus 12.
    public var batchLength: Int32
    /// The leader epoch the broker stamped on append (outside the CRC).
    public var partitionLeaderEpoch: Int32
    /// The format version; always 2 for a decoded header.
    public var magic: Int8
    /// The stored CRC-32C of bytes [21, end of batch).
    public var crc: UInt32
    /// Codec, timestamp type and the transactional, control and delete-horizon flags.
    public var attributes: RecordBatchAttributes
    /// The last record's offset minus `baseOffset` (record count − 1 for producer batches).
    public var lastOffsetDelta: Int32
    /// The first record's timestamp (−1 for an empty batch; the delete horizon after compaction).
    public var baseTimestamp: Int64
    /// The largest record timestamp, or the broker's time for LogAppendTime batches.
    public var maxTimestamp: Int64
    /// The idempotent or transactional producer's id, or −1.
    public var producerId: Int64
    /// The producer's epoch, or −1.
    public var producerEpoch: Int16
    /// The sequence number of the first record, or −1; wraps from Int32.max to 0.
    public var baseSequence: Int32
    /// The number of records, counted before compression.
    public var recordCount: Int32

    /// The size of the header in bytes.
    public static let size = 61
    /// The bytes before the part that `batchLength` covers (base offset and the length itself).
    public static let lengthFieldEnd = 12
    /// Where the CRC-covered range starts, relative to the batch.
    public static let checksumRangeStart = 21
    /// The smallest valid `batchLength`: a header with no records.
    public static let minimumBatchLength = Int32(size - lengthFieldEnd)
    /// The only magic value this module reads and writes.
    public static let currentMagic: Int8 = 2

    // Field offsets inside the header, for in-place patching.
    static let batchLengthOffset = 8
    static let partitionLeaderEpochOffset = 12
    static let magicOffset = 16
    static let crcOffset = 17
    static let attributesOffset = 21
    static let maxTimestampOffset = 35

    /// Creates a header from its fields.
    public init(
        baseOffset: Int64 = 0,
        batchLength: Int32,
        partitionLeaderEpoch: Int32 = -1,
        magic: Int8 = RecordBatchHeader.currentMagic,
        crc: UInt32,
        attributes: RecordBatchAttributes,
        lastOffsetDelta: Int32,
        baseTimestamp: Int64,
        maxTimestamp: Int64,
        producerId: Int64 = -1,
        producerEpoch: Int16 = -1,
        baseSequence: Int32 = -1,
        recordCount: Int32
    ) {
        self.baseOffset = baseOffset
        self.batchLength = batchLength
        self.partitionLeaderEpoch = partitionLeaderEpoch
        self.magic = magic
        self.crc = crc
        self.attributes = attributes
        self.lastOffsetDelta = lastOffsetDelta
        self.baseTimestamp = baseTimestamp
        self.maxTimestamp = maxTimestamp
        self.producerId = producerId
        self.producerEpoch = producerEpoch
        self.baseSequence = baseSequence
        self.recordCount = recordCount
    }

    /// Decodes the header that starts at absolute `index` of `buffer`, leaving the reader index alone.
    ///
    /// Checks the magic byte (must be 2), that `batchLength` covers at least the header, that the
    /// codec id is known and that the record count is not negative. It does not check the CRC or
    /// that the whole batch is present: see ``RecordBatch/verifyChecksum(_:at:header:)``.
    public init(decoding buffer: ByteBuffer, at index: Int) throws(WireFormatError) {
        guard index >= buffer.readerIndex, index <= buffer.writerIndex else {
            throw WireFormatError.invalidValue("batch index \(index) outside the readable bytes")
                .adding(context: "RecordBatchHeader")
        }
        let available = buffer.writerIndex - index
        guard available >= Self.size else {
            throw WireFormatError.truncated(needed: Self.size, available: available).adding(context: "RecordBatchHeader")
        }
        var bytes = buffer.getSlice(at: index, length: Self.size)!
        // The reads below cannot fail: the slice holds exactly `size` bytes.
        baseOffset = try bytes.readKafkaInt64()
        batchLength = try bytes.readKafkaInt32()
        partitionLeaderEpoch = try bytes.readKafkaInt32()
        magic = try bytes.readKafkaInt8()
        crc = try bytes.readKafkaUInt32()
        attributes = RecordBatchAttributes(rawValue: try bytes.readKafkaInt16())
        lastOffsetDelta = try bytes.readKafkaInt32()
        baseTimestamp = try bytes.readKafkaInt64()
        maxTimestamp = try bytes.readKafkaInt64()
        producerId = try bytes.readKafkaInt64()
        producerEpoch = try bytes.readKafkaInt16()
        baseSequence = try bytes.readKafkaInt32()
        recordCount = try bytes.readKafkaInt32()

        guard magic == Self.currentMagic else {
            throw WireFormatError.invalidValue("unsupported record batch magic \(magic), expected 2")
                .adding(context: "RecordBatchHeader")
        }
        guard batchLength >= Self.minimumBatchLength else {
            throw WireFormatError.invalidLength(Int64(batchLength)).adding(context: "RecordBatchHeader.batchLength")
        }
        guard attributes.compression != nil else {
            throw WireFormatError.invalidValue("unknown compression codec id \(attributes.compressionCodecID)")
                .adding(context: "RecordBatchHeader.attributes")
        }
        guard recordCount >= 0 else {
            throw WireFormatError.invalidLength(Int64(recordCount)).adding(context: "RecordBatchHeader.recordCount")
        }
    }

    /// Writes the 61 header bytes at the writer index.
    public func write(to buffer: inout ByteBuffer) {
        buffer.reserveCapacity(minimumWritableBytes: Self.size)
        buffer.writeKafkaInt64(baseOffset)
        buffer.writeKafkaInt32(batchLength)
        buffer.writeKafkaInt32(partitionLeaderEpoch)
        buffer.writeKafkaInt8(magic)
        buffer.writeKafkaUInt32(crc)
        buffer.writeKafkaInt16(attributes.rawValue)
        buffer.writeKafkaInt32(lastOffsetDelta)
        buffer.writeKafkaInt64(baseTimestamp)
        buffer.writeKafkaInt64(maxTimestamp)
        buffer.writeKafkaInt64(producerId)
        buffer.writeKafkaInt16(producerEpoch)
        buffer.writeKafkaInt32(baseSequence)
        buffer.writeKafkaInt32(recordCount)
    }

    /// The size of the whole batch in bytes: 12 plus `batchLength`.
    public var totalSize: Int { Self.lengthFieldEnd + Int(batchLength) }

    /// The offset of the last record (or of the last record the batch once held, after compaction).
    public var lastOffset: Int64 { baseOffset + Int64(lastOffsetDelta) }

    /// The offset that follows this batch.
    public var nextOffset: Int64 { lastOffset + 1 }

    /// True when the batch belongs to a transaction (attributes bit 4).
    public var isTransactional: Bool { attributes.contains(.transactional) }

    /// True when the batch holds a transaction marker (attributes bit 5).
    public var isControl: Bool { attributes.contains(.control) }

    /// The codec of the records. Decoding rejects unknown codec ids, so this is always known
    /// for a decoded header; a hand-built header with an unknown id reports `.none`.
    public var compression: CompressionCodec { attributes.compression ?? .none }

    /// Whose clock the timestamps come from (attributes bit 3).
    public var timestampType: TimestampType { attributes.timestampType }

    /// True when the batch carries producer state (idempotent or transactional producers).
    public var hasProducerId: Bool { producerId >= 0 }
}
