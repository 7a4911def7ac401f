import NIOCore
import SamsaProtocol
import NIOEmbedded
import SamsaTesting
import Testing

@testable import SamsaBroker

@Suite("Request framing")
struct KafkaFrameDecoderTests {
    private func frame(_ body: [UInt8]) -> ByteBuffer {
        var buffer = ByteBuffer()
        buffer.writeInteger(Int32(body.count))
        buffer.writeBytes(body)
        return buffer
    }

    @Test("frames are split whether bytes arrive at once or one at a time")
    func dripFeed() throws {
        var stream = ByteBuffer()
        var first = frame([1, 2, 3])
        var second = frame([])
        var third = frame(Array(repeating: 7, count: 300))
        stream.writeBuffer(&first)
        stream.writeBuffer(&second)
        stream.writeBuffer(&third)

        for chunkSize in [1, 2, 5, stream.readableBytes] {
            let channel = EmbeddedChannel(handler: ByteToMessageHandler(KafkaFrameDecoder(maxFrameBytes: 1024)))
            var input = stream
            while input.readableBytes > 0 {
                let chunk = input.readSlice(length: min(chunkSize, input.readableBytes))!
                try channel.writeInbound(chunk)
            }
            let frames = try (0..<3).map { _ in try #require(try channel.readInbound(as: ByteBuffer.self)) }
            #expect(frames.map(\.readableBytes) == [3, 0, 300])
            #expect(Array(frames[0].readableBytesView) == [1, 2, 3])
            #expect(try channel.readInbound(as: ByteBuffer.self) == nil)
            _ = try channel.finish()
        }
    }

    @Test(
        "frames of any size in chunks of any size come out whole, while earlier frames are still held",
        arguments: [1, 2, 3, 0x5A45_5341] as [UInt64])
    func randomChunks(seed: UInt64) throws {
        print("KafkaFrameDecoderTests.randomChunks seed \(seed)")
        var random = SplitMix64(seed: seed)
        let sizes = (0..<60).map { _ in Int(random.next() % 4 == 0 ? random.next() % 300_000 : random.next() % 2_000) }
        var stream = ByteBuffer()
        for (index, size) in sizes.enumerated() {
            var body = frame((0..<size).map { UInt8(truncatingIfNeeded: $0 &+ index) })
            stream.writeBuffer(&body)
        }
        let channel = EmbeddedChannel(handler: ByteToMessageHandler(KafkaFrameDecoder(maxFrameBytes: 1 << 20)))
        var frames: [ByteBuffer] = []  // all kept: slices of the decoder's buffers stay alive
        while stream.readableBytes > 0 {
            let chunk = stream.readSlice(length: min(Int(random.next() % 100_000) + 1, stream.readableBytes))!
            try channel.writeInbound(chunk)
            while let frame = try channel.readInbound(as: ByteBuffer.self) { frames.append(frame) }
        }
        #expect(frames.map(\.readableBytes) == sizes, "seed \(seed)")
        for (index, frame) in frames.enumerated() {
            #expect(
                Array(frame.readableBytesView) == (0..<sizes[index]).map { UInt8(truncatingIfNeeded: $0 &+ index) },
                "frame \(index), seed \(seed)")
        }
        _ = try channel.finish()
    }

    @Test("a frame over the limit is rejected before it is buffered")
    func oversized() throws {
        let channel = EmbeddedChannel(handler: ByteToMessageHandler(KafkaFrameDecoder(maxFrameBytes: 100)))
        var header = ByteBuffer()
        header.writeInteger(Int32(101))
        #expect(throws: FrameSizeError.self) { try channel.writeInbound(header) }
    }

    @Test("a negative frame size is rejected")
    func negative() throws {
        let channel = EmbeddedChannel(handler: ByteToMessageHandler(KafkaFrameDecoder(maxFrameBytes: 100)))
        var header = ByteBuffer()
        header.writeInteger(Int32(-1))
        #expect(throws: FrameSizeError.self) { try channel.writeInbound(header) }
    }
}
