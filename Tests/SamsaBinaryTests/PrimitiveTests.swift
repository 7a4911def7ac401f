import NIOCore
import SamsaBinary
import Testing

@Suite("Fixed-width, strings, bytes, arrays, UUIDs")
struct PrimitiveTests {
    @Test("integers are big-endian")
    func integers() throws {
        var buffer = ByteBuffer()
        buffer.writeKafkaInt8(-2)
        buffer.writeKafkaInt16(0x0102)
        buffer.writeKafkaInt32(-1)
        buffer.writeKafkaInt64(0x0102_0304_0506_0708)
        buffer.writeKafkaUInt16(0xFFFE)
        buffer.writeKafkaUInt32(0xDEAD_BEEF)
        buffer.writeKafkaFloat64(1.5)
        buffer.writeKafkaBool(true)
        #expect(Array(buffer.getBytes(at: 1, length: 2)!) == [0x01, 0x02])
        #expect(try buffer.readKafkaInt8() == -2)
        #expect(try buffer.readKafkaInt16() == 0x0102)
        #expect(try buffer.readKafkaInt32() == -1)
        #expect(try buffer.readKafkaInt64() == 0x0102_0304_0506_0708)
        #expect(try buffer.readKafkaUInt16() == 0xFFFE)
        #expect(try buffer.readKafkaUInt32() == 0xDEAD_BEEF)
        #expect(try buffer.readKafkaFloat64() == 1.5)
        #expect(try buffer.readKafkaBool() == true)
        #expect(throws: WireFormatError.truncated(needed: 4, available: 0)) { try buffer.readKafkaInt32() }
    }

    @Test("strings: classic, nullable, compact")
    func strings() throws {
        var buffer = ByteBuffer()
        buffer.writeKafkaString("héllo")
        buffer.writeKafkaNullableString(nil)
        buffer.writeCompactString("")
        buffer.writeCompactNullableString(nil)
        buffer.writeCompactNullableString("topic")
        #expect(buffer.getInteger(at: 0, as: Int16.self) == 6)
        #expect(try buffer.readKafkaString() == "héllo")
        #expect(try buffer.readKafkaNullableString() == nil)
        #expect(try buffer.readCompactString() == "")
        #expect(try buffer.readCompactNullableString() == nil)
        #expect(try buffer.readCompactNullableString() == "topic")
        #expect(buffer.readableBytes == 0)
    }

    @Test("lying string lengths throw before allocating")
    func lyingStrings() {
        var negative = ByteBuffer(bytes: [0xFF, 0xFE])
        #expect(throws: WireFormatError.invalidLength(-2)) { try negative.readKafkaNullableString() }
        var tooLong = ByteBuffer(bytes: [0x7F, 0xFF, 0x41])
        #expect(throws: WireFormatError.self) { try tooLong.readKafkaString() }
        var compactHuge = ByteBuffer(bytes: [0xFF, 0xFF, 0xFF, 0xFF, 0x0F, 0x41])
        #expect(throws: WireFormatError.self) { try compactHuge.readCompactString() }
    }

    @Test("bytes are slices of the input")
    func bytes() throws {
        var buffer = ByteBuffer()
        buffer.writeKafkaBytes(ByteBuffer(bytes: [1, 2, 3]))
        buffer.writeKafkaNullableBytes(nil)
        buffer.writeCompactBytes(ByteBuffer())
        buffer.writeCompactNullableBytes(ByteBuffer(bytes: [9]))
        buffer.writeCompactNullableBytes(nil)
        #expect(Array(try buffer.readKafkaBytes().readableBytesView) == [1, 2, 3])
        #expect(try buffer.readKafkaNullableBytes() == nil)
        #expect(try buffer.readCompactBytes().readableBytes == 0)
        #expect(Array(try buffer.readCompactNullableBytes()!.readableBytesView) == [9])
        #expect(try buffer.readCompactNullableBytes() == nil)
        var lying = ByteBuffer(bytes: [0x00, 0x10, 0x00, 0x00, 1, 2])
        #expect(throws: WireFormatError.self) { try lying.readKafkaBytes() }
        var negative = ByteBuffer(bytes: [0xFF, 0xFF, 0xFF, 0xF0])
        #expect(throws: WireFormatError.invalidLength(-16)) { try negative.readKafkaNullableBytes() }
    }

    @Test("array counts are bounded by the bytes left")
    func arrays() throws {
        var buffer = ByteBuffer()
        buffer.writeArrayCount(2)
        buffer.writeKafkaInt32(1)
        buffer.writeKafkaInt32(2)
        #expect(try buffer.readArrayCount(minimumElementSize: 4) == 2)
        var null = ByteBuffer(bytes: [0xFF, 0xFF, 0xFF, 0xFF])
        #expect(try null.readArrayCount(minimumElementSize: 1) == nil)
        var huge = ByteBuffer(bytes: [0x7F, 0xFF, 0xFF, 0xFF, 0, 0, 0, 0])
        #expect(throws: WireFormatError.lengthOverLimit(Int64(Int32.max), limit: 1)) {
            try huge.readArrayCount(minimumElementSize: 4)
        }
        var compact = ByteBuffer()
        compact.writeCompactArrayCount(3)
        compact.writeBytes([1, 2, 3])
        #expect(try compact.readCompactArrayCount(minimumElementSize: 1) == 3)
        var compactNull = ByteBuffer(bytes: [0])
        #expect(try compactNull.readCompactArrayCount(minimumElementSize: 1) == nil)
        var compactLying = ByteBuffer(bytes: [0x81, 0x01, 0])
        #expect(throws: WireFormatError.self) { try compactLying.readCompactArrayCount(minimumElementSize: 1) }
    }

    @Test("UUIDs: wire order, base64 form, random IDs are valid topic IDs")
    func uuids() throws {
        let id = KafkaUUID(mostSignificantBits: 0x0102_0304_0506_0708, leastSignificantBits: 0x090A_0B0C_0D0E_0F10)
        var buffer = ByteBuffer()
        buffer.writeKafkaUUID(id)
        #expect(Array(buffer.readableBytesView) == Array(1...16))
        #expect(try buffer.readKafkaUUID() == id)
        #expect(KafkaUUID(base64: id.base64) == id)
        #expect(KafkaUUID.zero.base64 == "AAAAAAAAAAAAAAAAAAAAAA")
        var generator = SplitMix64(seed: 7)
        for _ in 0..<200 {
            let random = KafkaUUID.random(using: &generator)
            #expect(!random.isZero)
            #expect(!random.base64.hasPrefix("-"))
            #expect(KafkaUUID(base64: random.base64) == random)
        }
        #expect(KafkaUUID(base64: "not a uuid") == nil)
    }

    @Test("tagged fields: unknown tags are kept, counts are bounded")
    func taggedFields() throws {
        var buffer = ByteBuffer()
        let fields = [
            TaggedField(tag: 0, data: ByteBuffer(bytes: [1, 2])),
            TaggedField(tag: 5, data: ByteBuffer()),
        ]
        buffer.writeTaggedFields(fields)
        buffer.writeEmptyTaggedFields()
        #expect(try buffer.readUnknownTaggedFields() == fields)
        #expect(try buffer.readUnknownTaggedFields() == [])
        var lying = ByteBuffer(bytes: [0x7F, 0x00])
        #expect(throws: WireFormatError.self) { try lying.readUnknownTaggedFields() }
        var sizeTooBig = ByteBuffer(bytes: [0x01, 0x00, 0x09, 0x01])
        #expect(throws: WireFormatError.self) { try sizeTooBig.readUnknownTaggedFields() }
        var sorted: [TaggedField] = [TaggedField(tag: 1, data: ByteBuffer()), TaggedField(tag: 9, data: ByteBuffer())]
        sorted.insertSorted(TaggedField(tag: 4, data: ByteBuffer()))
        #expect(sorted.map(\.tag) == [1, 4, 9])
    }

    @Test("errors describe themselves with context")
    func errorDescriptions() {
        let error = WireFormatError.truncated(needed: 4, available: 1).adding(context: "topics").adding(context: "ProduceRequest")
        #expect(error.description == "ProduceRequest.topics: truncated input: needed 4 bytes, 1 left")
        #expect(error.isTruncation)
    }
}
