import NIOCore
import SamsaBinary
import Testing

@Suite("Varints")
struct VarintTests {
    @Test("zig-zag varints round-trip at the edges", arguments: [Int32.min, -64, -1, 0, 1, 63, 64, 300, Int32.max])
    func zigZag32(value: Int32) throws {
        var buffer = ByteBuffer()
        buffer.writeVarint(value)
        #expect(buffer.readableBytes == VarintSize.zigZag(value))
        #expect(try buffer.readVarint() == value)
        #expect(buffer.readableBytes == 0)
    }

    @Test("zig-zag varlongs round-trip at the edges", arguments: [Int64.min, -1, 0, 1, Int64(Int32.max) + 1, Int64.max])
    func zigZag64(value: Int64) throws {
        var buffer = ByteBuffer()
        buffer.writeVarlong(value)
        #expect(buffer.readableBytes == VarintSize.zigZag(value))
        #expect(try buffer.readVarlong() == value)
    }

    @Test("known encodings: unsigned is plain LEB128, signed is zig-zag")
    func knownBytes() throws {
        var buffer = ByteBuffer()
        buffer.writeUnsignedVarint(300)
        #expect(Array(buffer.readableBytesView) == [0xAC, 0x02])
        buffer.clear()
        buffer.writeVarint(-1)
        #expect(Array(buffer.readableBytesView) == [0x01])
        buffer.clear()
        buffer.writeVarint(1)
        #expect(Array(buffer.readableBytesView) == [0x02])
        buffer.clear()
        buffer.writeUnsignedVarint(UInt32.max)
        #expect(Array(buffer.readableBytesView) == [0xFF, 0xFF, 0xFF, 0xFF, 0x0F])
    }

    @Test("random values round-trip")
    func randomRoundTrip() throws {
        var generator = SplitMix64(seed: 42)
        var buffer = ByteBuffer()
        var values: [Int64] = []
        for _ in 0..<2000 {
            let value = Int64(bitPattern: generator.next()) >> Int64(generator.next() % 64)
            values.append(value)
            buffer.writeVarlong(value)
            buffer.writeUnsignedVarlong(UInt64(bitPattern: value))
        }
        for value in values {
            #expect(try buffer.readVarlong() == value)
            #expect(try buffer.readUnsignedVarlong() == UInt64(bitPattern: value))
        }
    }

    @Test("over-long varints are rejected")
    func overLong() {
        var five = ByteBuffer(bytes: [0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x01])
        #expect(throws: WireFormatError.varintTooLong) { try five.readUnsignedVarint() }
        var overflow = ByteBuffer(bytes: [0xFF, 0xFF, 0xFF, 0xFF, 0x1F])
        #expect(throws: WireFormatError.varintTooLong) { try overflow.readUnsignedVarint() }
        var eleven = ByteBuffer(bytes: [UInt8](repeating: 0xFF, count: 10) + [0x01])
        #expect(throws: WireFormatError.varintTooLong) { try eleven.readUnsignedVarlong() }
    }

    @Test("truncated varints throw and leave the reader where it was")
    func truncated() {
        var buffer = ByteBuffer(bytes: [0x80, 0x80])
        #expect(throws: WireFormatError.self) { try buffer.readVarint() }
        #expect(buffer.readerIndex == 0)
        var empty = ByteBuffer()
        #expect(throws: WireFormatError.self) { try empty.readUnsignedVarint() }
    }
}

/// A small deterministic generator, so failures reproduce.
struct SplitMix64: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
