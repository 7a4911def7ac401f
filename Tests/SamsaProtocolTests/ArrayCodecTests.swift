import NIOCore
import SamsaBinary
@testable import SamsaProtocol
import Testing

/// The array helpers for element types the current spec does not use yet.
@Suite struct ArrayCodecTests {
    func roundTrip<Element: KafkaArrayElement>(_ elements: [Element]?, compact: Bool) throws -> [Element]? {
        var buffer = ByteBuffer()
        buffer.writeKafkaArray(elements, compact: compact)
        let decoded = try buffer.readKafkaArray(Element.self, compact: compact, context: "test")
        #expect(buffer.readableBytes == 0)
        return decoded
    }

    @Test(arguments: [false, true])
    func everyPrimitiveElementRoundTrips(compact: Bool) throws {
        #expect(try roundTrip([true, false], compact: compact) == [true, false])
        #expect(try roundTrip([Int8(-3), 4], compact: compact) == [-3, 4])
        #expect(try roundTrip([UInt16.max, 1], compact: compact) == [UInt16.max, 1])
        #expect(try roundTrip([UInt32.max, 2], compact: compact) == [UInt32.max, 2])
        #expect(try roundTrip([1.5, -2.25], compact: compact) == [1.5, -2.25])
        let uuid = KafkaUUID(mostSignificantBits: 1, leastSignificantBits: 2)
        #expect(try roundTrip([uuid], compact: compact) == [uuid])
        #expect(try roundTrip([ByteBuffer(bytes: [1, 2]), ByteBuffer()], compact: compact) == [ByteBuffer(bytes: [1, 2]), ByteBuffer()])
        #expect(try roundTrip(["a", ""], compact: compact) == ["a", ""])
        #expect(try roundTrip(nil as [Int64]?, compact: compact) == nil)
    }

    @Test func countsAreBoundedByTheElementSize() {
        var buffer = ByteBuffer()
        buffer.writeArrayCount(3)
        buffer.writeKafkaInt64(1)
        buffer.writeKafkaInt64(2)
        #expect(throws: WireFormatError.self) {
            try buffer.readKafkaArray(KafkaUUID.self, compact: false, context: "ids")
        }
    }
}
