import NIOCore
import SamsaBinary

/// Kafka's legacy message formats, magic 0 and 1 (message sets, before KIP-98), which clients
/// written for Kafka 0.8-0.10 still send in Produce v0-2 and read in Fetch v0-3.
///
/// A message set is a run of `[offset int64][size int32][message]`, and a message is
/// `crc uint32` (CRC-32, the zlib one, over the rest), `magic int8`, `attributes int8` (bits
/// 0-2 the codec, bit 3 the timestamp type in magic 1), `timestamp int64` (magic 1 only), then
/// the key and the value as int32-length-prefixed bytes (-1 for null). A compressed message's
/// value is itself a message set (one level deep); in magic 1 its inner offsets are relative
/// and the wrapper carries the absolute offset of the last one (KIP-31).
///
/// Produce converts a set to one record batch v2 (``convertToRecordBatch(_:maxDecompressedBytes:)``)
/// and Fetch down-converts stored batches (``downConvert(_:toMagic:maxBytes:maxDecompressedBytes:)``),
/// as Kafka 3.x did. Every length is checked against the bytes left before anything is read,
/// and decompression stays within a budget.
public enum LegacyMessageSet {
    /// A message header's fixed part before the key: crc, magic, attributes.
    static let crcMagicAttributesSize = 6
    /// The smallest message: crc, magic, attributes and two null lengths.
    public static let minimumMessageSize = 14
    /// The bytes before each message in a set: offset and size.
    static let logOverhead = 12

    /// One message read from a set; the contents of a compressed wrapper are returned one by one.
    public struct Message: Hashable, Sendable {
        /// The offset as stored: absolute, or relative inside a magic-1 wrapper.
        public var offset: Int64
        /// 0 or 1.
        public var magic: Int8
        /// The timestamp (magic 1), or -1 (magic 0, which has none).
        public var timestamp: Int64
        /// How the timestamp was set (magic 1).
        public var timestampType: TimestampType
        /// The codec of the wrapper the message came in, `.none` when it was not wrapped.
        public var codec: CompressionCodec
        /// The key, or nil.
        public var key: ByteBuffer?
        /// The value, or nil.
        public var value: ByteBuffer?
    }

    /// The messages of a set, compressed wrappers opened.
    ///
    /// - Parameters:
    ///   - allowsTrailingPartialMessage: true for fetched data, where a set may end in a cut
    ///     message; produced data must be whole.
    ///   - maxDecompressedBytes: the budget for all wrappers together.
    public static func messages(
        in buffer: ByteBuffer, allowsTrailingPartialMessage: Bool = false, maxDecompressedBytes: Int
    ) throws(LegacyMessageError) -> [Message] {
        var budget = maxDecompressedBytes
        return try messages(in: buffer, partialAllowed: allowsTrailingPartialMessage, nested: false, budget: &budget)
    }

    private static func messages(
        in buffer: ByteBuffer, partialAllowed: Bool, nested: Bool, budget: inout Int
    ) throws(LegacyMessageError) -> [Message] {
        var buffer = buffer
        var result: [Message] = []
        while buffer.readableBytes > 0 {
            guard buffer.readableBytes >= logOverhead else {
                if partialAllowed { break }
                throw .truncated(needed: logOverhead, available: buffer.readableBytes)
            }
            let offset = buffer.readInteger(as: Int64.self)!
            let size = Int(buffer.readInteger(as: Int32.self)!)
            guard size >= minimumMessageSize else { throw .invalidSize(size, offset: offset) }
            guard let body = buffer.readSlice(length: size) else {
                if partialAllowed { break }
                throw .truncated(needed: size, available: buffer.readableBytes)
            }
            let message = try decodeMessage(body, offset: offset)
            guard message.codec != .none else {
                result.append(message)
                continue
            }
            guard !nested else { throw .nestedWrapper(offset: offset) }
            result += try unwrap(message, budget: &budget)
        }
        return result
    }

    /// One message's fields, its CRC checked.
    private static func decodeMessage(_ body: ByteBuffer, offset: Int64) throws(LegacyMessageError) -> Message {
        var body = body
        let storedCRC = body.readInteger(as: UInt32.self)!
        let computed = body.withUnsafeReadableBytes { CRC32.checksum($0) }
        guard storedCRC == computed else { throw .checksumMismatch(offset: offset, stored: storedCRC, computed: computed) }
        let magic = body.readInteger(as: Int8.self)!
        guard magic == 0 || magic == 1 else { throw .unsupportedMagic(magic, offset: offset) }
        let attributes = body.readInteger(as: Int8.self)!
        guard let codec = CompressionCodec(rawValue: attributes & 0x07), codec != .zstd else {
            throw .unsupportedCodec(attributes & 0x07, offset: offset)
        }
        var timestamp: Int64 = -1
        if magic == 1 {
            guard let read = body.readInteger(as: Int64.self) else { throw .truncated(needed: 8, available: body.readableBytes) }
            timestamp = read
        }
        let key = try readBytes(&body)
        let value = try readBytes(&body)
        return Message(
            offset: offset, magic: magic, timestamp: timestamp,
            timestampType: magic == 1 && attributes & 0x08 != 0 ? .logAppendTime : .createTime, codec: codec, key: key, value: value)
    }

    private static func readBytes(_ body: inout ByteBuffer) throws(LegacyMessageError) -> ByteBuffer? {
        guard let length = body.readInteger(as: Int32.self) else { throw .truncated(needed: 4, available: body.readableBytes) }
        guard length >= 0 else { return nil }
        guard let bytes = body.readSlice(length: Int(length)) else {
            throw .truncated(needed: Int(length), available: body.readableBytes)
        }
        return bytes
    }

    /// The messages inside a compressed wrapper, with absolute offsets and the wrapper's codec.
    private static func unwrap(_ wrapper: Message, budget: inout Int) throws(LegacyMessageError) -> [Message] {
        guard let compressed = wrapper.value else { throw .emptyWrapper(offset: wrapper.offset) }
        let inner: ByteBuffer
        do {
            inner = try wrapper.codec.decompress(compressed, maxDecompressedBytes: max(0, budget))
        } catch {
            throw .compression(error)
        }
        budget -= inner.readableBytes
        var messages = try messages(in: inner, partialAllowed: false, nested: true, budget: &budget)
        guard let last = messages.last else { throw .emptyWrapper(offset: wrapper.offset) }
        for index in messages.indices {
            messages[index].codec = wrapper.codec
            if wrapper.magic == 1 {
                // KIP-31: inner offsets are relative; the wrapper holds the last one's absolute offset.
                messages[index].offset = wrapper.offset &- last.offset &+ messages[index].offset  // crafted offsets wrap, never trap
                if wrapper.timestampType == .logAppendTime {
                    messages[index].timestamp = wrapper.timestamp
                    messages[index].timestampType = .logAppendTime
                }
            }
        }
        return messages
    }

    /// A produced message set as one record batch v2, as Kafka 3.x's `LogValidator` converts it:
    /// base offset 0, no producer id, the set's codec, the messages' timestamps (-1 for magic 0).
    public static func convertToRecordBatch(
        _ buffer: ByteBuffer, maxDecompressedBytes: Int
    ) throws(LegacyMessageError) -> (batch: ByteBuffer, recordCount: Int) {
        let messages = try messages(in: buffer, maxDecompressedBytes: maxDecompressedBytes)
        guard !messages.isEmpty else { throw .empty }
        var builder = RecordBatchBuilder(compression: messages.first { $0.codec != .none }?.codec ?? .none)
        for message in messages {
            builder.append(key: message.key, value: message.value, timestamp: message.timestamp)
        }
        do {
            return (try builder.build(), messages.count)
        } catch {
            throw .compression(error)
        }
    }

    /// Record batches v2 as read from a log (possibly ending in a cut batch, which is left out)
    /// as an uncompressed message set of `magic` 0 or 1 with absolute offsets. Control batches
    /// and record headers are left out (the old formats have neither); magic 1 keeps the
    /// timestamps. Stops before `maxBytes` would be exceeded, but always includes the first
    /// message, so a consumer can make progress.
    public static func downConvert(
        _ batches: ByteBuffer, toMagic magic: Int8, maxBytes: Int, maxDecompressedBytes: Int,
        allocator: ByteBufferAllocator = ByteBufferAllocator()
    ) throws(LegacyMessageError) -> ByteBuffer {
        precondition(magic == 0 || magic == 1, "legacy magic is 0 or 1")
        var output = allocator.buffer(capacity: min(batches.readableBytes, max(maxBytes, 0)) + 64)
        var scanner = RecordBatchScanner(batches, allowsTrailingPartialBatch: true)
        var budget = maxDecompressedBytes
        while true {
            let next: RecordBatch?
            do throws(WireFormatError) {
                next = try scanner.nextBatch()
            } catch {
                throw .batch(.wireFormat(error))
            }
            guard let batch = next else { break }
            guard !batch.header.isControl else { continue }
            let records: [BatchRecord]
            do throws(RecordBatchError) {
                records = try batch.decodeRecords(maxDecompressedBytes: max(0, budget))
            } catch {
                throw .batch(error)
            }
            budget -= records.reduce(0) { $0 + ($1.key?.readableBytes ?? 0) + ($1.value?.readableBytes ?? 0) }
            for record in records {
                let size =
                    logOverhead + minimumMessageSize + (magic == 1 ? 8 : 0) + (record.key?.readableBytes ?? 0)
                    + (record.value?.readableBytes ?? 0)
                if output.readableBytes > 0 && output.readableBytes + size > maxBytes { return output }
                write(record, magic: magic, timestampType: batch.header.timestampType, into: &output)
            }
        }
        return output
    }

    private static func write(_ record: BatchRecord, magic: Int8, timestampType: TimestampType, into output: inout ByteBuffer) {
        output.writeInteger(record.offset)
        let sizeIndex = output.writerIndex
        output.writeInteger(Int32(0))
        let crcIndex = output.writerIndex
        output.writeInteger(UInt32(0))
        let bodyStart = output.writerIndex
        output.writeInteger(magic)
        output.writeInteger(magic == 1 && timestampType == .logAppendTime ? Int8(0x08) : Int8(0))
        if magic == 1 { output.writeInteger(record.timestamp) }
        for bytes in [record.key, record.value] {
            if let bytes {
                output.writeInteger(Int32(bytes.readableBytes))
                output.writeImmutableBuffer(bytes)
            } else {
                output.writeInteger(Int32(-1))
            }
        }
        let crc = output.withUnsafeReadableBytes { whole in
            CRC32.checksum(UnsafeRawBufferPointer(rebasing: whole[(bodyStart - output.readerIndex)...]))
        }
        output.setInteger(crc, at: crcIndex)
        output.setInteger(Int32(output.writerIndex - crcIndex), at: sizeIndex)
    }
}

/// Why a legacy message set could not be read or converted.
public enum LegacyMessageError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The set ends inside a message (or its offset and size).
    case truncated(needed: Int, available: Int)
    /// A message size below the smallest possible message.
    case invalidSize(Int, offset: Int64)
    /// The CRC-32 stored in a message does not match its bytes.
    case checksumMismatch(offset: Int64, stored: UInt32, computed: UInt32)
    /// A magic other than 0 and 1.
    case unsupportedMagic(Int8, offset: Int64)
    /// A codec the legacy formats do not have (zstd came with magic 2).
    case unsupportedCodec(Int8, offset: Int64)
    /// A compressed message inside a compressed message.
    case nestedWrapper(offset: Int64)
    /// A compressed message without messages inside.
    case emptyWrapper(offset: Int64)
    /// A set without messages.
    case empty
    /// Decompression failed or went over the budget.
    case compression(CompressionError)
    /// A stored record batch could not be read for down-conversion.
    case batch(RecordBatchError)

    public var description: String {
        switch self {
        case .truncated(let needed, let available): "message set truncated: \(needed) bytes needed, \(available) left"
        case .invalidSize(let size, let offset): "message at offset \(offset) has an invalid size \(size)"
        case .checksumMismatch(let offset, let stored, let computed):
            "message at offset \(offset) is corrupt: stored CRC \(stored), computed \(computed)"
        case .unsupportedMagic(let magic, let offset): "message at offset \(offset) has unsupported magic \(magic)"
        case .unsupportedCodec(let codec, let offset): "message at offset \(offset) uses codec \(codec), unknown to magic 0 and 1"
        case .nestedWrapper(let offset): "compressed message at offset \(offset) is nested in another"
        case .emptyWrapper(let offset): "compressed message at offset \(offset) holds no messages"
        case .empty: "the message set holds no messages"
        case .compression(let error): "\(error)"
        case .batch(let error): "\(error)"
        }
    }
}
