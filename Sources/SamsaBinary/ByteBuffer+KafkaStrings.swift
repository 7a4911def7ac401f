import NIOCore

// Strings: STRING / NULLABLE_STRING (int16 length, -1 = null) and their compact forms
// (unsigned varint length + 1, 0 = null). Lengths are checked against the bytes left before any
// allocation. Invalid UTF-8 is repaired with U+FFFD, as Java's decoder does.

extension ByteBuffer {
    @inlinable
    mutating func readUTF8(length: Int) throws(WireFormatError) -> String {
        guard length <= readableBytes else {
            throw .truncated(needed: length, available: readableBytes)
        }
        let value = getString(at: readerIndex, length: length) ?? ""
        moveReaderIndex(forwardBy: length)
        return value
    }

    /// Reads a STRING. A null (length -1) is returned as "", which is how Kafka's own reader
    /// treats a null where none is allowed.
    @inlinable
    public mutating func readKafkaString() throws(WireFormatError) -> String {
        try readKafkaNullableString() ?? ""
    }

    /// Reads a NULLABLE_STRING: int16 length, -1 means null.
    @inlinable
    public mutating func readKafkaNullableString() throws(WireFormatError) -> String? {
        let length = try readKafkaInt16()
        if length == -1 { return nil }
        guard length >= 0 else { throw .invalidLength(Int64(length)) }
        return try readUTF8(length: Int(length))
    }

    /// Reads a COMPACT_STRING. A null (length 0) is returned as "".
    @inlinable
    public mutating func readCompactString() throws(WireFormatError) -> String {
        try readCompactNullableString() ?? ""
    }

    /// Reads a COMPACT_NULLABLE_STRING: unsigned varint N+1, 0 means null.
    @inlinable
    public mutating func readCompactNullableString() throws(WireFormatError) -> String? {
        let lengthPlusOne = try readUnsignedVarint()
        if lengthPlusOne == 0 { return nil }
        let length = Int(lengthPlusOne - 1)
        guard length <= readableBytes else {
            throw .lengthOverLimit(Int64(length), limit: readableBytes)
        }
        return try readUTF8(length: length)
    }

    /// Writes a STRING. Kafka strings are at most 32767 UTF-8 bytes; longer is a programmer error.
    @inlinable
    public mutating func writeKafkaString(_ value: String) {
        let utf8Count = value.utf8.count
        precondition(utf8Count <= Int(Int16.max), "a Kafka STRING holds at most 32767 bytes, got \(utf8Count)")
        writeKafkaInt16(Int16(utf8Count))
        writeString(value)
    }

    /// Writes a NULLABLE_STRING.
    @inlinable
    public mutating func writeKafkaNullableString(_ value: String?) {
        guard let value else {
            writeKafkaInt16(-1)
            return
        }
        writeKafkaString(value)
    }

    /// Writes a COMPACT_STRING.
    @inlinable
    public mutating func writeCompactString(_ value: String) {
        writeUnsignedVarint(UInt32(value.utf8.count + 1))
        writeString(value)
    }

    /// Writes a COMPACT_NULLABLE_STRING.
    @inlinable
    public mutating func writeCompactNullableString(_ value: String?) {
        guard let value else {
            writeUnsignedVarint(0)
            return
        }
        writeCompactString(value)
    }
}
