/// xxHash32, as the LZ4 frame format uses it for its header (and optional block and content)
/// checksums.
public enum XXHash32 {
    private static let prime1: UInt32 = 2_654_435_761
    private static let prime2: UInt32 = 2_246_822_519
    private static let prime3: UInt32 = 3_266_489_917
    private static let prime4: UInt32 = 668_265_263
    private static let prime5: UInt32 = 374_761_393

    /// The 32-bit hash of `bytes` with `seed`.
    public static func hash(_ bytes: UnsafeRawBufferPointer, seed: UInt32 = 0) -> UInt32 {
        let count = bytes.count
        var index = 0
        var h: UInt32
        if count >= 16 {
            var v1 = seed &+ prime1 &+ prime2
            var v2 = seed &+ prime2
            var v3 = seed
            var v4 = seed &- prime1
            while index + 16 <= count {
                v1 = round(v1, lane(bytes, index))
                v2 = round(v2, lane(bytes, index + 4))
                v3 = round(v3, lane(bytes, index + 8))
                v4 = round(v4, lane(bytes, index + 12))
                index += 16
            }
            h = rotl(v1, 1) &+ rotl(v2, 7) &+ rotl(v3, 12) &+ rotl(v4, 18)
        } else {
            h = seed &+ prime5
        }
        h = h &+ UInt32(truncatingIfNeeded: count)
        while index + 4 <= count {
            h = rotl(h &+ lane(bytes, index) &* prime3, 17) &* prime4
            index += 4
        }
        while index < count {
            h = rotl(h &+ UInt32(bytes[index]) &* prime5, 11) &* prime1
            index += 1
        }
        h ^= h >> 15
        h = h &* prime2
        h ^= h >> 13
        h = h &* prime3
        h ^= h >> 16
        return h
    }

    /// The 32-bit hash of a byte array with `seed`.
    public static func hash(_ bytes: [UInt8], seed: UInt32 = 0) -> UInt32 {
        bytes.withUnsafeBytes { hash($0, seed: seed) }
    }

    @inline(__always)
    private static func lane(_ bytes: UnsafeRawBufferPointer, _ index: Int) -> UInt32 {
        UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: index, as: UInt32.self))
    }

    @inline(__always)
    private static func round(_ accumulator: UInt32, _ input: UInt32) -> UInt32 {
        rotl(accumulator &+ input &* prime2, 13) &* prime1
    }

    @inline(__always)
    private static func rotl(_ value: UInt32, _ bits: UInt32) -> UInt32 {
        (value << bits) | (value >> (32 - bits))
    }
}
