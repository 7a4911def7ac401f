import NIOCore
import SamsaBinary

/// One header of a record: a UTF-8 key (never null) and a nullable value.
public struct RecordHeader: Hashable, Sendable {
    /// The header's name.
    public var key: String
    /// The header's value, or nil for null.
    public var value: ByteBuffer?

    /// Creates a header.
    public init(key: String, value: ByteBuffer?) {
        self.key = key
        self.value = value
    }
}

/// One record of a batch v2, as it is encoded: positions relative to the batch.
///
/// Decoded keys, values and header values are slices of the batch's (decompressed) bytes, not
/// copies.
/// ```
/// Length varint | Attributes int8 | TimestampDelta varlong | OffsetDelta varint
/// KeyLength varint (−1 = null) | Key | ValueLength varint (−1 = null) | Value
/// HeadersCount varint | per header: KeyLength varint | Key | ValueLength varint (−1 = null) | Value
/// ```
public struct Record: Hashable, Sendable {
    /// The record's offset minus the batch's base offset.
    public var offsetDelta: Int32
    /// The record's timestamp minus the batch's base timestamp.
    public var timestampDelta: Int64
    /// Unused by Kafka so far; kept as read.
    public var attributes: Int8
    /// The key, or nil for a null key (not the same as an empty one).
    public var key: ByteBuffer?
    /// The value, or nil for a null value (a tombstone in compacted topics).
    public var value: ByteBuffer?
    /// Application headers, in order; keys may repeat.
    public var headers: [RecordHeader]

    /// Creates a record from its fields.
    public init(
        offsetDelta: Int32, timestampDelta: Int64, attributes: Int8 = 0,
        key: ByteBuffer?, value: ByteBuffer?, headers: [RecordHeader] = []
    ) {
        self.offsetDelta = offsetDelta
        self.timestampDelta = timestampDelta
        self.attributes = attributes
        self.key = key
        self.value = value
        self.headers = headers
    }

    /// The size of the encoded record after its length prefix.
    public var bodySize: Int {
        Self.bodySize(offsetDelta: offsetDelta, timestampDelta: timestampDelta, key: key, value: value, headers: headers)
    }

    private static func bodySize(
        offsetDelta: Int32, timestampDelta: Int64, key: ByteBuffer?, value: ByteBuffer?, headers: [RecordHeader]
    ) -> Int {
        var size = 1 + VarintSize.zigZag(timestampDelta) + VarintSize.zigZag(offsetDelta)
        size += bytesFieldSize(key) + bytesFieldSize(value)
        size += VarintSize.zigZag(Int32(headers.count))
        for header in headers {
            size += VarintSize.zigZag(Int32(header.key.utf8.count)) + header.key.utf8.count + bytesFieldSize(header.value)
        }
        return size
    }

    /// The size of the encoded record including its length prefix.
    public var encodedSize: Int {
        let body = bodySize
        return VarintSize.zigZag(Int32(body)) + body
    }

    private static func bytesFieldSize(_ bytes: ByteBuffer?) -> Int {
        guard let bytes else { return 1 }
        return VarintSize.zigZag(Int32(bytes.readableBytes)) + bytes.readableBytes
    }

    /// Appends the encoded record, length prefix first.
    public func write(to buffer: inout ByteBuffer) {
        Self.write(
            offsetDelta: offsetDelta, timestampDelta: timestampDelta, attributes: attributes, key: key, value: value,
            headers: headers, to: &buffer)
    }

    /// Appends a record made of these fields, without making a `Record` first (a producer's
    /// hot path: no copies of the key, value and headers).
    public static func write(
        offsetDelta: Int32, timestampDelta: Int64, attributes: Int8 = 0, key: ByteBuffer?, value: ByteBuffer?,
        headers: [RecordHeader], to buffer: inout ByteBuffer
    ) {
        let body = bodySize(offsetDelta: offsetDelta, timestampDelta: timestampDelta, key: key, value: value, headers: headers)
        precondition(body <= Int32.max, "record too large")
        // Raw writes into reserved room: one capacity check for the record, not one per field.
        buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: body + 5) { memory in
            var out = RawVarintWriter(memory)
            out.writeVarint(Int32(body))
            out.writeByte(UInt8(bitPattern: attributes))
            out.writeVarlong(timestampDelta)
            out.writeVarint(offsetDelta)
            writeBytesField(key, to: &out)
            writeBytesField(value, to: &out)
            out.writeVarint(Int32(headers.count))
            for header in headers {
                out.writeVarint(Int32(header.key.utf8.count))
                out.writeUTF8(header.key)
                writeBytesField(header.value, to: &out)
            }
            return out.count
        }
    }

    private static func writeBytesField(_ bytes: ByteBuffer?, to out: inout RawVarintWriter) {
        guard let bytes else {
            out.writeVarint(-1)
            return
        }
        out.writeVarint(Int32(bytes.readableBytes))
        out.writeBytes(bytes)
    }

    private static func writeBytesField(_ bytes: ByteBuffer?, to buffer: inout ByteBuffer) {
        guard let bytes else {
            buffer.writeVarint(-1)
            return
        }
        buffer.writeVarint(Int32(bytes.readableBytes))
        // A raw copy: `writeImmutableBuffer` goes through a generic path that looks up type
        // metadata on every call.
        bytes.withUnsafeReadableBytes { _ = buffer.writeBytes($0) }
    }

    /// Reads one record at the reader index of `buffer`, checking every length against the bytes
    /// left and that the record's fields use exactly its declared length.
    public static func read(from buffer: inout ByteBuffer) throws(WireFormatError) -> Record {
        let length = try buffer.readVarint()
        guard length >= 0 else { throw WireFormatError.invalidLength(Int64(length)).adding(context: "Record.length") }
        guard var body = buffer.readSlice(length: Int(length)) else {
            throw WireFormatError.truncated(needed: Int(length), available: buffer.readableBytes).adding(context: "Record")
        }
        let attributes = try body.readKafkaInt8()
        let timestampDelta = try body.readVarlong()
        let offsetDelta = try body.readVarint()
        let key: ByteBuffer?
        let value: ByteBuffer?
        do throws(WireFormatError) {
            key = try readBytesField(&body)
        } catch {
            throw error.adding(context: "Record.key")
        }
        do throws(WireFormatError) {
            value = try readBytesField(&body)
        } catch {
            throw error.adding(context: "Record.value")
        }
        let headerCount = try body.readVarint()
        // Each header takes at least two bytes (two one-byte lengths).
        guard headerCount >= 0, Int(headerCount) <= body.readableBytes / 2 else {
            throw WireFormatError.lengthOverLimit(Int64(headerCount), limit: body.readableBytes / 2).adding(context: "Record.headers")
        }
        var headers: [RecordHeader] = []
        headers.reserveCapacity(Int(headerCount))
        for _ in 0..<headerCount {
            let keyLength = try body.readVarint()
            guard keyLength >= 0 else { throw WireFormatError.invalidLength(Int64(keyLength)).adding(context: "Record.headers.key") }
            guard let headerKey = body.readString(length: Int(keyLength)) else {
                throw WireFormatError.truncated(needed: Int(keyLength), available: body.readableBytes).adding(context: "Record.headers.key")
            }
            do throws(WireFormatError) {
                headers.append(RecordHeader(key: headerKey, value: try readBytesField(&body)))
            } catch {
                throw error.adding(context: "Record.headers.value")
            }
        }
        guard body.readableBytes == 0 else {
            throw WireFormatError.invalidValue("\(body.readableBytes) bytes left after the record's fields").adding(context: "Record")
        }
        return Record(
            offsetDelta: offsetDelta, timestampDelta: timestampDelta, attributes: attributes,
            key: key, value: value, headers: headers)
    }

    private static func readBytesField(_ buffer: inout ByteBuffer) throws(WireFormatError) -> ByteBuffer? {
        let length = try buffer.readVarint()
        if length == -1 { return nil }
        guard length >= 0 else { throw .invalidLength(Int64(length)) }
        guard let bytes = buffer.readSlice(length: Int(length)) else {
            throw .truncated(needed: Int(length), available: buffer.readableBytes)
        }
        return bytes
    }
}

/// A record read from a batch, with its absolute offset and timestamp.
public struct BatchRecord: Hashable, Sendable {
    /// The batch's base offset plus the record's offset delta.
    public var offset: Int64
    /// The record's timestamp: base timestamp plus delta, or the batch's max timestamp when the
    /// batch uses LogAppendTime.
    public var timestamp: Int64
    /// The record as encoded.
    public var record: Record

    public init(offset: Int64, timestamp: Int64, record: Record) {
        self.offset = offset
        self.timestamp = timestamp
        self.record = record
    }

    /// The record's key.
    public var key: ByteBuffer? { record.key }
    /// The record's value.
    public var value: ByteBuffer? { record.value }
    /// The record's headers.
    public var headers: [RecordHeader] { record.headers }
}
