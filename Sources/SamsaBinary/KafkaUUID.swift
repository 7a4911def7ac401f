import NIOCore

/// A 128-bit identifier as Kafka writes it: the most significant 64 bits, then the least
/// significant 64 bits, both big-endian. Topic IDs use it; all zeros means "unknown".
public struct KafkaUUID: Hashable, Sendable, Comparable, CustomStringConvertible {
    public var mostSignificantBits: UInt64
    public var leastSignificantBits: UInt64

    public init(mostSignificantBits: UInt64, leastSignificantBits: UInt64) {
        self.mostSignificantBits = mostSignificantBits
        self.leastSignificantBits = leastSignificantBits
    }

    /// The all-zero UUID, which Kafka uses to mean "no ID".
    public static let zero = KafkaUUID(mostSignificantBits: 0, leastSignificantBits: 0)

    /// True for the all-zero UUID.
    public var isZero: Bool { self == .zero }

    /// A random version-4 UUID that Kafka would accept as a topic ID: never zero, never the
    /// reserved (0, 1), and never one whose URL-safe base64 form starts with "-".
    public static func random<G: RandomNumberGenerator>(using generator: inout G) -> KafkaUUID {
        while true {
            var high = generator.next() as UInt64
            var low = generator.next() as UInt64
            high = (high & ~0xF000) | 0x4000
            low = (low & ~(0xC000_0000_0000_0000 as UInt64)) | 0x8000_0000_0000_0000
            let candidate = KafkaUUID(mostSignificantBits: high, leastSignificantBits: low)
            if !candidate.isZero && !candidate.base64.hasPrefix("-") {
                return candidate
            }
        }
    }

    /// The 16 bytes in wire order.
    public var bytes: [UInt8] {
        var result = [UInt8]()
        result.reserveCapacity(16)
        for shift in stride(from: 56, through: 0, by: -8) {
            result.append(UInt8(truncatingIfNeeded: mostSignificantBits >> UInt64(shift)))
        }
        for shift in stride(from: 56, through: 0, by: -8) {
            result.append(UInt8(truncatingIfNeeded: leastSignificantBits >> UInt64(shift)))
        }
        return result
    }

    /// URL-safe base64 without padding: the form Kafka tools print topic IDs in.
    public var base64: String {
        let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_".utf8)
        let input = bytes
        var output = [UInt8]()
        output.reserveCapacity(22)
        var index = 0
        while index + 3 <= input.count {
            let chunk = UInt32(input[index]) << 16 | UInt32(input[index + 1]) << 8 | UInt32(input[index + 2])
            output.append(alphabet[Int(chunk >> 18 & 63)])
            output.append(alphabet[Int(chunk >> 12 & 63)])
            output.append(alphabet[Int(chunk >> 6 & 63)])
            output.append(alphabet[Int(chunk & 63)])
            index += 3
        }
        // 16 bytes leave one byte: two characters, no padding.
        let last = UInt32(input[index]) << 16
        output.append(alphabet[Int(last >> 18 & 63)])
        output.append(alphabet[Int(last >> 12 & 63)])
        return String(decoding: output, as: UTF8.self)
    }

    /// Parses the URL-safe base64 form produced by `base64`; nil if it is not one.
    public init?(base64 text: String) {
        let characters = Array(text.utf8)
        guard characters.count == 22 else { return nil }
        var values = [UInt32]()
        values.reserveCapacity(22)
        for character in characters {
            switch character {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"): values.append(UInt32(character - UInt8(ascii: "A")))
            case UInt8(ascii: "a")...UInt8(ascii: "z"): values.append(UInt32(character - UInt8(ascii: "a") + 26))
            case UInt8(ascii: "0")...UInt8(ascii: "9"): values.append(UInt32(character - UInt8(ascii: "0") + 52))
            case UInt8(ascii: "-"): values.append(62)
            case UInt8(ascii: "_"): values.append(63)
            default: return nil
            }
        }
        var bytes = [UInt8]()
        var index = 0
        while index + 4 <= values.count {
            let chunk = values[index] << 18 | values[index + 1] << 12 | values[index + 2] << 6 | values[index + 3]
            bytes.append(UInt8(truncatingIfNeeded: chunk >> 16))
            bytes.append(UInt8(truncatingIfNeeded: chunk >> 8))
            bytes.append(UInt8(truncatingIfNeeded: chunk))
            index += 4
        }
        let tail = values[index] << 18 | values[index + 1] << 12
        guard tail & 0xFFFF == 0 else { return nil }
        bytes.append(UInt8(truncatingIfNeeded: tail >> 16))
        var high: UInt64 = 0
        var low: UInt64 = 0
        for byte in bytes[0..<8] { high = high << 8 | UInt64(byte) }
        for byte in bytes[8..<16] { low = low << 8 | UInt64(byte) }
        self.init(mostSignificantBits: high, leastSignificantBits: low)
    }

    public var description: String { base64 }

    public static func < (lhs: KafkaUUID, rhs: KafkaUUID) -> Bool {
        (lhs.mostSignificantBits, lhs.leastSignificantBits) < (rhs.mostSignificantBits, rhs.leastSignificantBits)
    }
}

extension ByteBuffer {
    /// Reads a UUID (16 bytes).
    @inlinable
    public mutating func readKafkaUUID() throws(WireFormatError) -> KafkaUUID {
        let high = try readFixedWidth(UInt64.self)
        let low = try readFixedWidth(UInt64.self)
        return KafkaUUID(mostSignificantBits: high, leastSignificantBits: low)
    }

    /// Writes a UUID (16 bytes).
    @inlinable
    public mutating func writeKafkaUUID(_ value: KafkaUUID) {
        writeInteger(value.mostSignificantBits, endianness: .big)
        writeInteger(value.leastSignificantBits, endianness: .big)
    }
}
