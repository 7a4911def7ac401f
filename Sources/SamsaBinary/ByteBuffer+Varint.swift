import NIOCore

// Variable-length integers.
//
// Kafka has two kinds and mixing them up is the classic bug:
// - UNSIGNED_VARINT (compact lengths, tag numbers, tag sizes): plain LEB128, no zig-zag.
// - VARINT / VARLONG (inside records): zig-zag LEB128, like protobuf's sint32/sint64.
// A 32-bit varint is at most 5 bytes and a 64-bit one at most 10; longer input is rejected.

extension ByteBuffer {
    /// Reads an unsigned LEB128 value of at most 5 bytes (Kafka's UNSIGNED_VARINT).
    @inlinable
    public mutating func readUnsignedVarint() throws(WireFormatError) -> UInt32 {
        UInt32(truncatingIfNeeded: try readLEB128(lastShift: 28, lastByteMax: 0x0F))
    }

    /// Reads an unsigned LEB128 value of at most 10 bytes.
    @inlinable
    public mutating func readUnsignedVarlong() throws(WireFormatError) -> UInt64 {
        try readLEB128(lastShift: 63, lastByteMax: 0x01)
    }

    /// Reads LEB128 whose last allowed byte starts at bit `lastShift` and may hold at most
    /// `lastByteMax` (which also rules out a continuation bit there). The reader moves only on
    /// success.
    @inlinable
    mutating func readLEB128(lastShift: UInt64, lastByteMax: UInt8) throws(WireFormatError) -> UInt64 {
        var result: UInt64 = 0
        var shift: UInt64 = 0
        var index = readerIndex
        let end = writerIndex
        while true {
            guard index < end else {
                throw .truncated(needed: index - readerIndex + 1, available: readableBytes)
            }
            let byte = getInteger(at: index, as: UInt8.self)!
            index += 1
            if shift == lastShift && byte > lastByteMax {
                throw .varintTooLong
            }
            result |= UInt64(byte & 0x7F) << shift
            if byte & 0x80 == 0 {
                moveReaderIndex(to: index)
                return result
            }
            shift += 7
        }
    }

    /// Reads a zig-zag encoded 32-bit varint (Kafka's VARINT).
    @inlinable
    public mutating func readVarint() throws(WireFormatError) -> Int32 {
        let raw = try readUnsignedVarint()
        return Int32(bitPattern: (raw >> 1) ^ (0 &- (raw & 1)))
    }

    /// Reads a zig-zag encoded 64-bit varint (Kafka's VARLONG).
    @inlinable
    public mutating func readVarlong() throws(WireFormatError) -> Int64 {
        let raw = try readUnsignedVarlong()
        return Int64(bitPattern: (raw >> 1) ^ (0 &- (raw & 1)))
    }

    /// Writes an unsigned LEB128 value.
    @inlinable
    public mutating func writeUnsignedVarint(_ value: UInt32) {
        writeUnsignedVarlong(UInt64(value))
    }

    /// Writes an unsigned LEB128 value of up to 64 bits.
    @inlinable
    public mutating func writeUnsignedVarlong(_ value: UInt64) {
        // One capacity check and one index move for all the bytes (a varint is at most 10).
        writeWithUnsafeMutableBytes(minimumWritableBytes: 10) { bytes in
            var remaining = value
            var count = 0
            while remaining >= 0x80 {
                bytes[count] = UInt8(truncatingIfNeeded: remaining) | 0x80
                remaining >>= 7
                count += 1
            }
            bytes[count] = UInt8(truncatingIfNeeded: remaining)
            return count + 1
        }
    }

    /// Writes a zig-zag encoded 32-bit varint.
    @inlinable
    public mutating func writeVarint(_ value: Int32) {
        writeUnsignedVarint(UInt32(bitPattern: (value << 1) ^ (value >> 31)))
    }

    /// Writes a zig-zag encoded 64-bit varint.
    @inlinable
    public mutating func writeVarlong(_ value: Int64) {
        writeUnsignedVarlong(UInt64(bitPattern: (value << 1) ^ (value >> 63)))
    }
}

/// Sizes of encoded varints, for callers that must know a length before writing.
public enum VarintSize {
    /// The number of bytes `writeUnsignedVarlong` uses for `value`.
    @inlinable
    public static func unsigned(_ value: UInt64) -> Int {
        var size = 1
        var remaining = value >> 7
        while remaining != 0 {
            size += 1
            remaining >>= 7
        }
        return size
    }

    /// The number of bytes `writeVarint` uses for `value`.
    @inlinable
    public static func zigZag(_ value: Int32) -> Int {
        unsigned(UInt64(UInt32(bitPattern: (value << 1) ^ (value >> 31))))
    }

    /// The number of bytes `writeVarlong` uses for `value`.
    @inlinable
    public static func zigZag(_ value: Int64) -> Int {
        unsigned(UInt64(bitPattern: (value << 1) ^ (value >> 63)))
    }
}
