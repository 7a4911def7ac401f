import CSamsaCRC32C
import NIOCore

/// CRC-32C (Castagnoli), the checksum of Kafka record batches v2.
///
/// Uses the SSE4.2 `crc32` instruction on x86-64 (or ARMv8 CRC32 on aarch64) when the CPU has
/// it, and a slice-by-8 table otherwise.
public enum CRC32C {
    /// True when the hardware instruction is in use.
    public static var isHardwareAccelerated: Bool {
        samsa_crc32c_is_hardware_accelerated() != 0
    }

    /// The checksum of `bytes`, continuing from `initial` (the result of an earlier call).
    @inlinable
    public static func checksum(_ bytes: UnsafeRawBufferPointer, continuing initial: UInt32 = 0) -> UInt32 {
        guard let base = bytes.baseAddress else { return initial }
        return samsa_crc32c_update(initial, base, bytes.count)
    }

    /// The checksum of a sequence of bytes held in an array.
    @inlinable
    public static func checksum(_ bytes: [UInt8], continuing initial: UInt32 = 0) -> UInt32 {
        bytes.withUnsafeBytes { checksum($0, continuing: initial) }
    }

    /// The checksum of the readable bytes of `buffer`, without copying them.
    @inlinable
    public static func checksum(_ buffer: ByteBuffer, continuing initial: UInt32 = 0) -> UInt32 {
        buffer.withUnsafeReadableBytes { checksum($0, continuing: initial) }
    }

    /// The checksum of `length` bytes of `buffer` starting at absolute index `index`.
    /// Returns nil if that range is not readable.
    @inlinable
    public static func checksum(_ buffer: ByteBuffer, at index: Int, length: Int) -> UInt32? {
        guard index >= buffer.readerIndex, length >= 0, index + length <= buffer.writerIndex else { return nil }
        return buffer.withUnsafeReadableBytes { bytes in
            checksum(UnsafeRawBufferPointer(rebasing: bytes[(index - buffer.readerIndex)..<(index - buffer.readerIndex + length)]))
        }
    }

    /// The portable (table) implementation, for tests that compare both paths.
    public static func portableChecksum(_ bytes: [UInt8]) -> UInt32 {
        bytes.withUnsafeBytes { raw in
            guard let base = raw.baseAddress else { return 0 }
            return samsa_crc32c_update_portable(0, base, raw.count)
        }
    }
}
