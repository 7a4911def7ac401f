import NIOCore

/// Writes Kafka varints and bytes straight into memory a `ByteBuffer` reserved (see
/// `ByteBuffer.writeWithUnsafeMutableBytes`): one capacity check for a whole structure instead
/// of one per field, for the hot path of encoding records.
public struct RawVarintWriter {
    @usableFromInline let base: UnsafeMutableRawBufferPointer
    /// Bytes written so far.
    public var count: Int { written }
    @usableFromInline var written = 0

    @inlinable
    public init(_ base: UnsafeMutableRawBufferPointer) {
        self.base = base
    }

    @inlinable
    public mutating func writeUnsignedVarlong(_ value: UInt64) {
        var remaining = value
        while remaining >= 0x80 {
            base[written] = UInt8(truncatingIfNeeded: remaining) | 0x80
            remaining >>= 7
            written += 1
        }
        base[written] = UInt8(truncatingIfNeeded: remaining)
        written += 1
    }

    /// A zig-zag encoded 32-bit varint.
    @inlinable
    public mutating func writeVarint(_ value: Int32) {
        writeUnsignedVarlong(UInt64(UInt32(bitPattern: (value << 1) ^ (value >> 31))))
    }

    /// A zig-zag encoded 64-bit varint.
    @inlinable
    public mutating func writeVarlong(_ value: Int64) {
        writeUnsignedVarlong(UInt64(bitPattern: (value << 1) ^ (value >> 63)))
    }

    @inlinable
    public mutating func writeByte(_ value: UInt8) {
        base[written] = value
        written += 1
    }

    /// The readable bytes of `bytes`, without a length.
    @inlinable
    public mutating func writeBytes(_ bytes: ByteBuffer) {
        let length = bytes.readableBytes
        guard length > 0 else { return }
        bytes.withUnsafeReadableBytes { source in
            (base.baseAddress! + written).copyMemory(from: source.baseAddress!, byteCount: length)
        }
        written += length
    }

    /// The UTF-8 bytes of `text`, without a length.
    @inlinable
    public mutating func writeUTF8(_ text: String) {
        var text = text
        text.withUTF8 { utf8 in
            guard utf8.count > 0 else { return }
            (base.baseAddress! + written).copyMemory(from: UnsafeRawPointer(utf8.baseAddress!), byteCount: utf8.count)
            written += utf8.count
        }
    }
}
