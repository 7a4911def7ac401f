import NIOCore
import SamsaBinary

/// Walks the record batches laid end to end in a buffer: the records of a produce request, a
/// range read from a segment, or the records of a fetch response.
///
/// Each step decodes one header (magic, lengths, codec checked) and yields where the batch starts
/// and its header, without copying anything. A batch that runs past the end of the buffer is an
/// error, unless `allowsTrailingPartialBatch` is set: fetch responses may end in a cut-off batch
/// (the broker sends whole segments' bytes up to a size limit), and then the scan simply ends and
/// ``trailingPartialBytes`` says how many bytes were left over.
///
/// ```swift
/// var scanner = RecordBatchScanner(records)
/// while let (index, header) = try scanner.next() { ... }
/// ```
public struct RecordBatchScanner: Sendable {
    private let buffer: ByteBuffer
    private let allowsTrailingPartialBatch: Bool
    private let verifiesChecksums: Bool
    private var failed = false

    /// The absolute index where the next batch starts.
    public private(set) var position: Int
    /// How many bytes of a cut-off batch were left at the end (only with `allowsTrailingPartialBatch`).
    public private(set) var trailingPartialBytes = 0
    /// How many batches were yielded so far.
    public private(set) var batchCount = 0

    /// Scans the readable bytes of `buffer`.
    ///
    /// - Parameters:
    ///   - allowsTrailingPartialBatch: end quietly at a batch that the buffer cuts off.
    ///   - verifiesChecksums: check each batch's CRC before yielding it.
    public init(_ buffer: ByteBuffer, allowsTrailingPartialBatch: Bool = false, verifiesChecksums: Bool = false) {
        self.buffer = buffer
        self.position = buffer.readerIndex
        self.allowsTrailingPartialBatch = allowsTrailingPartialBatch
        self.verifiesChecksums = verifiesChecksums
    }

    /// The next batch's absolute index and header, or nil at the end.
    ///
    /// Throws on a corrupt header, a bad CRC (when verifying) or a cut-off batch that is not
    /// allowed; the scanner then stays failed and throws again if called.
    public mutating func next() throws(WireFormatError) -> (index: Int, header: RecordBatchHeader)? {
        guard !failed else {
            throw WireFormatError.invalidValue("scan already failed").adding(context: "RecordBatchScanner")
        }
        let index = position
        let remaining = buffer.writerIndex - index
        if remaining == 0 { return nil }
        do throws(WireFormatError) {
            // Decide "cut off" from the length field alone, as Kafka's readers do, so a partial
            // batch shorter than a header is still recognised.
            guard remaining >= RecordBatchHeader.lengthFieldEnd else {
                return try endPartial(remaining: remaining, needed: RecordBatchHeader.lengthFieldEnd)
            }
            let length = buffer.getInteger(at: index + RecordBatchHeader.batchLengthOffset, endianness: .big, as: Int32.self)!
            guard length >= RecordBatchHeader.minimumBatchLength else {
                throw WireFormatError.invalidLength(Int64(length)).adding(context: "RecordBatchHeader.batchLength")
            }
            let total = RecordBatchHeader.lengthFieldEnd + Int(length)
            guard total <= remaining else {
                return try endPartial(remaining: remaining, needed: total)
            }
            let header = try RecordBatchHeader(decoding: buffer, at: index)
            if verifiesChecksums {
                try RecordBatch.verifyChecksum(buffer, at: index, header: header)
            }
            position = index + total
            batchCount += 1
            return (index, header)
        } catch {
            failed = true
            throw error.adding(context: "RecordBatchScanner(batch \(batchCount) at byte \(index - buffer.readerIndex))")
        }
    }

    /// Like ``next()``, but returns the batch as a ``RecordBatch`` (header plus a slice of its bytes).
    public mutating func nextBatch() throws(WireFormatError) -> RecordBatch? {
        guard let (index, header) = try next() else { return nil }
        return RecordBatch(unchecked: header, bytes: buffer.getSlice(at: index, length: header.totalSize)!)
    }

    private mutating func endPartial(remaining: Int, needed: Int) throws(WireFormatError) -> (index: Int, header: RecordBatchHeader)? {
        guard allowsTrailingPartialBatch else {
            throw WireFormatError.truncated(needed: needed, available: remaining)
        }
        trailingPartialBytes = remaining
        position = buffer.writerIndex
        return nil
    }
}

extension RecordBatch {
    /// A batch whose header was already decoded from exactly these bytes.
    init(unchecked header: RecordBatchHeader, bytes: ByteBuffer) {
        assert(bytes.readableBytes == header.totalSize)
        self.header = header
        self.bytes = bytes
    }
}
