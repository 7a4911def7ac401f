import NIOCore
import SamsaBinary

/// A seeded SplitMix64 generator with the value makers the generated `random(version:using:)`
/// helpers call. Seeded, so a failing round trip can be reproduced.
struct TestRandom: RandomNumberGenerator {
    private var state: UInt64

    init(seed: UInt64) {
        state = seed
    }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var value = state
        value = (value ^ (value >> 30)) &* 0xBF58_476D_1CE4_E5B9
        value = (value ^ (value >> 27)) &* 0x94D0_49BB_1331_11EB
        return value ^ (value >> 31)
    }

    /// A small element count: arrays nest, so counts stay low to keep messages small.
    mutating func count() -> Int { Int(next() % 3) }

    mutating func bool() -> Bool { next() & 1 == 1 }
    mutating func int8() -> Int8 { Int8(truncatingIfNeeded: next()) }
    mutating func int16() -> Int16 { Int16(truncatingIfNeeded: next()) }
    mutating func uint16() -> UInt16 { UInt16(truncatingIfNeeded: next()) }
    mutating func int32() -> Int32 { Int32(truncatingIfNeeded: next()) }
    mutating func uint32() -> UInt32 { UInt32(truncatingIfNeeded: next()) }
    mutating func int64() -> Int64 { Int64(bitPattern: next()) }
    /// A finite double (NaN would never compare equal after a round trip).
    mutating func float64() -> Double { Double(int32()) / 8 }

    mutating func string() -> String {
        let alphabet = Array("abcdefghijklmnopqrstuvwxyz-_.0123456789é€")
        var result = ""
        for _ in 0..<Int(next() % 12) { result.append(alphabet[Int(next() % UInt64(alphabet.count))]) }
        return result
    }

    mutating func bytes() -> ByteBuffer {
        var buffer = ByteBuffer()
        for _ in 0..<Int(next() % 20) { buffer.writeInteger(UInt8(truncatingIfNeeded: next())) }
        return buffer
    }

    mutating func uuid() -> KafkaUUID {
        KafkaUUID(mostSignificantBits: next(), leastSignificantBits: next())
    }

    /// Tags far above any the spec uses, ascending, so they stay unknown and in order.
    mutating func unknownTaggedFields() -> [TaggedField] {
        var fields: [TaggedField] = []
        var tag = UInt32(10_000)
        for _ in 0..<Int(next() % 3) {
            tag += UInt32(1 + next() % 1000)
            fields.append(TaggedField(tag: tag, data: bytes()))
        }
        return fields
    }

    mutating func boolArray() -> [Bool] { (0..<count()).map { _ in bool() } }
    mutating func int8Array() -> [Int8] { (0..<count()).map { _ in int8() } }
    mutating func int16Array() -> [Int16] { (0..<count()).map { _ in int16() } }
    mutating func uint16Array() -> [UInt16] { (0..<count()).map { _ in uint16() } }
    mutating func int32Array() -> [Int32] { (0..<count()).map { _ in int32() } }
    mutating func uint32Array() -> [UInt32] { (0..<count()).map { _ in uint32() } }
    mutating func int64Array() -> [Int64] { (0..<count()).map { _ in int64() } }
    mutating func float64Array() -> [Double] { (0..<count()).map { _ in float64() } }
    mutating func stringArray() -> [String] { (0..<count()).map { _ in string() } }
    mutating func bytesArray() -> [ByteBuffer] { (0..<count()).map { _ in bytes() } }
    mutating func uuidArray() -> [KafkaUUID] { (0..<count()).map { _ in uuid() } }
}
