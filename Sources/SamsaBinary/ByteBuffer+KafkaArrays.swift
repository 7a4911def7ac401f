import NIOCore

// Array headers. ARRAY is an int32 count (-1 = null); COMPACT_ARRAY is an unsigned varint
// count + 1 (0 = null). A count is accepted only if `count * minimumElementSize` bytes are left,
// so a lying count can never make a decoder reserve memory the input could not fill.

extension ByteBuffer {
    /// Reads an ARRAY count; nil means a null array.
    ///
    /// - Parameter minimumElementSize: the fewest bytes one element can take on the wire (at
    ///   least 1), used to reject counts larger than the bytes left could hold.
    @inlinable
    public mutating func readArrayCount(minimumElementSize: Int) throws(WireFormatError) -> Int? {
        let count = try readKafkaInt32()
        if count == -1 { return nil }
        guard count >= 0 else { throw .invalidLength(Int64(count)) }
        return try checkedCount(Int(count), minimumElementSize: minimumElementSize)
    }

    /// Reads a COMPACT_ARRAY count; nil means a null array.
    @inlinable
    public mutating func readCompactArrayCount(minimumElementSize: Int) throws(WireFormatError) -> Int? {
        let countPlusOne = try readUnsignedVarint()
        if countPlusOne == 0 { return nil }
        return try checkedCount(Int(countPlusOne - 1), minimumElementSize: minimumElementSize)
    }

    @inlinable
    func checkedCount(_ count: Int, minimumElementSize: Int) throws(WireFormatError) -> Int {
        let limit = readableBytes / Swift.max(1, minimumElementSize)
        guard count <= limit else {
            throw .lengthOverLimit(Int64(count), limit: limit)
        }
        return count
    }

    /// Writes an ARRAY count; nil writes a null array.
    @inlinable
    public mutating func writeArrayCount(_ count: Int?) {
        guard let count else {
            writeKafkaInt32(-1)
            return
        }
        writeKafkaInt32(Int32(count))
    }

    /// Writes a COMPACT_ARRAY count; nil writes a null array.
    @inlinable
    public mutating func writeCompactArrayCount(_ count: Int?) {
        guard let count else {
            writeUnsignedVarint(0)
            return
        }
        writeUnsignedVarint(UInt32(count + 1))
    }
}
