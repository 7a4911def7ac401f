import NIOCore
import SamsaBinary
import SamsaProtocol
import Testing

/// Hostile input must not make the decoder allocate much more than the input's size. Array
/// counts are checked against the bytes left (count × minimum element size) before anything is
/// reserved, so a 1 KiB buffer can never claim more elements than 1 KiB could hold.
@Suite struct AllocationTests {
    /// A 1 KiB ProduceRequest whose nested counts each claim ever more elements than fit.
    func hostileProduce(count: UInt32) -> ByteBuffer {
        var buffer = ByteBuffer()
        buffer.writeCompactNullableString(nil)
        buffer.writeKafkaInt16(1)
        buffer.writeKafkaInt32(1000)
        buffer.writeUnsignedVarint(count)
        buffer.writeRepeatingByte(0, count: 1024 - buffer.readableBytes)
        return buffer
    }

    @Test func countsLargerThanTheInputCouldHoldAreRejected() {
        for count: UInt32 in [400, 10_000, 1 << 20, UInt32.max - 1] {
            var buffer = hostileProduce(count: count)
            #expect(throws: WireFormatError.self) { try ProduceRequest(from: &buffer, version: 9) }
        }
    }

    /// Decodes a 1 KiB input that claims as many elements as its bytes allow (the worst case
    /// that passes the count check) and measures what the decoder reserved: the element array's
    /// capacity times its stride. Elements with empty strings and arrays allocate nothing else.
    @Test func acceptedInputsStayWithinASmallMultipleOfTheirSize() throws {
        // Three bytes per element is the minimum of a flexible TopicProduceData: an empty
        // compact name, an empty compact array and an empty tag section.
        var input = ByteBuffer()
        input.writeCompactNullableString(nil)
        input.writeKafkaInt16(1)
        input.writeKafkaInt32(1000)
        let elements = (1024 - 16) / 3
        input.writeCompactArrayCount(elements)
        for _ in 0..<elements { input.writeBytes([1, 1, 0]) }
        input.writeInteger(UInt8(0))
        var buffer = input
        let request = try ProduceRequest(from: &buffer, version: 9)
        #expect(request.topicData.count == elements)
        let reserved = request.topicData.capacity * MemoryLayout<ProduceRequest.TopicProduceData>.stride
        #expect(reserved < 32 * input.readableBytes, "a \(input.readableBytes)-byte input reserved \(reserved) bytes")
    }
}
