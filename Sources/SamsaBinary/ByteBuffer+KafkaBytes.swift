import NIOCore

// BYTES / NULLABLE_BYTES (int32 length, -1 = null) and their compact forms. Reads return slices
// of the input buffer, so no bytes are copied: record sets travel through the broker this way.

extension ByteBuffer {
    @inlinable
    mutating func readSliceChecked(length: Int) throws(WireFormatError) -> ByteBuffer {
        guard length <= readableBytes, let slice = readSlice(length: length) else {
            throw .truncated(needed: length, available: readableBytes)
        }
        return slice
    }

    /// Reads exactly `length` bytes as a slice, or throws if fewer are left.
    @inlinable
    public mutating func readKafkaSlice(length: Int) throws(WireFormatError) -> ByteBuffer {
        guard length >= 0 else { throw .invalidLength(Int64(length)) }
        return try readSliceChecked(length: length)
    }

    /// Reads BYTES; a null (-1) is returned as an empty buffer.
    @inlinable
    public mutating func readKafkaBytes() throws(WireFormatError) -> ByteBuffer {
        try readKafkaNullableBytes() ?? ByteBuffer()
    }

    /// Reads NULLABLE_BYTES: int32 length, -1 means null.
    @inlinable
    public mutating func readKafkaNullableBytes() throws(WireFormatError) -> ByteBuffer? {
        let length = try readKafkaInt32()
        if length == -1 { return nil }
        guard length >= 0 else { throw .invalidLength(Int64(length)) }
        return try readSliceChecked(length: Int(length))
    }

    /// Reads COMPACT_BYTES; a null (0) is returned as an empty buffer.
    @inlinable
    public mutating func readCompactBytes() throws(WireFormatError) -> ByteBuffer {
        try readCompactNullableBytes() ?? ByteBuffer()
    }

    /// Reads COMPACT_NULLABLE_BYTES: unsigned varint N+1, 0 means null.
    @inlinable
    public mutating func readCompactNullableBytes() throws(WireFormatError) -> ByteBuffer? {
        let lengthPlusOne = try readUnsignedVarint()
        if lengthPlusOne == 0 { return nil }
        return try readSliceChecked(length: Int(lengthPlusOne - 1))
    }

    /// Writes BYTES.
    @inlinable
    public mutating func writeKafkaBytes(_ value: ByteBuffer) {
        writeKafkaInt32(Int32(value.readableBytes))
        writeImmutableBuffer(value)
    }

    /// Writes NULLABLE_BYTES.
    @inlinable
    public mutating func writeKafkaNullableBytes(_ value: ByteBuffer?) {
        guard let value else {
            writeKafkaInt32(-1)
            return
        }
        writeKafkaBytes(value)
    }

    /// Writes COMPACT_BYTES.
    @inlinable
    public mutating func writeCompactBytes(_ value: ByteBuffer) {
        writeUnsignedVarint(UInt32(value.readableBytes + 1))
        writeImmutableBuffer(value)
    }

    /// Writes COMPACT_NULLABLE_BYTES.
    @inlinable
    public mutating func writeCompactNullableBytes(_ value: ByteBuffer?) {
        guard let value else {
            writeUnsignedVarint(0)
            return
        }
        writeCompactBytes(value)
    }
}
