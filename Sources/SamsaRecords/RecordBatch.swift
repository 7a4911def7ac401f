import NIOCore
import SamsaBinary

/// One complete record batch v2: its decoded header and its bytes.
///
/// `bytes` is a slice of the buffer the batch was found in (no copy), exactly
/// ``RecordBatchHeader/totalSize`` bytes long. Records are decoded lazily with
/// ``records(maxDecompressedBytes:)``.
public struct RecordBatch: Sendable {
    /// The decoded header.
    public let header: RecordBatchHeader
    /// The whole batch, header included.
    public let bytes: ByteBuffer

    /// Takes the batch at the reader index of `buffer`. Does not move the reader index and does
    /// not verify the CRC.
    ///
    /// Throws when the header is invalid or the buffer holds fewer than `totalSize` bytes.
    public init(_ buffer: ByteBuffer) throws(WireFormatError) {
        try self.init(buffer, at: buffer.readerIndex)
    }

    /// Takes the batch that starts at absolute `index` of `buffer`.
    public init(_ buffer: ByteBuffer, at index: Int) throws(WireFormatError) {
        let header = try RecordBatchHeader(decoding: buffer, at: index)
        let available = buffer.writerIndex - index
        guard available >= header.totalSize else {
            throw WireFormatError.truncated(needed: header.totalSize, available: available).adding(context: "RecordBatch")
        }
        self.header = header
        self.bytes = buffer.getSlice(at: index, length: header.totalSize)!
    }

    /// The compressed (or plain) record bytes after the header.
    public var recordsBytes: ByteBuffer {
        bytes.getSlice(at: bytes.readerIndex + RecordBatchHeader.size, length: header.totalSize - RecordBatchHeader.size)!
    }

    /// Checks the stored CRC against the bytes of this batch.
    public func verifyChecksum() throws(WireFormatError) {
        try Self.verifyChecksum(bytes, at: bytes.readerIndex, header: header)
    }

    /// Checks the stored CRC of the batch at absolute `index` of `buffer` whose decoded header is
    /// `header`: CRC-32C over bytes [index + 21, index + totalSize).
    ///
    /// Throws `.truncated` if the whole batch is not in the buffer and `.checksumMismatch` if the
    /// CRC differs.
    public static func verifyChecksum(_ buffer: ByteBuffer, at index: Int, header: RecordBatchHeader) throws(WireFormatError) {
        let start = index + RecordBatchHeader.checksumRangeStart
        let length = header.totalSize - RecordBatchHeader.checksumRangeStart
        guard let actual = CRC32C.checksum(buffer, at: start, length: length) else {
            throw WireFormatError.truncated(needed: header.totalSize, available: max(0, buffer.writerIndex - index))
                .adding(context: "RecordBatch")
        }
        guard actual == header.crc else {
            throw WireFormatError.checksumMismatch(expected: header.crc, actual: actual).adding(context: "RecordBatch")
        }
    }

    /// Computes the CRC a batch at absolute `index` should carry, from its `batchLength` field.
    /// Nil if the batch is not wholly readable.
    public static func computeChecksum(_ buffer: ByteBuffer, at index: Int) -> UInt32? {
        guard let length = buffer.getInteger(at: index + RecordBatchHeader.batchLengthOffset, endianness: .big, as: Int32.self),
            length >= RecordBatchHeader.minimumBatchLength
        else { return nil }
        let total = RecordBatchHeader.lengthFieldEnd + Int(length)
        return CRC32C.checksum(
            buffer, at: index + RecordBatchHeader.checksumRangeStart, length: total - RecordBatchHeader.checksumRangeStart)
    }
}
