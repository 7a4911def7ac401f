#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation
import NIOConcurrencyHelpers
import NIOCore
import NIOEmbedded
import SamsaTesting
import Testing

@testable import SamsaBroker

/// Makes the channel unwritable once `limit` bytes were written through it since the test last
/// let it drain, as a socket whose buffer filled up would.
private final class SocketBufferStandIn: ChannelOutboundHandler {
    typealias OutboundIn = IOData
    typealias OutboundOut = IOData

    let limit: Int
    var sinceDrained = 0

    init(limit: Int) { self.limit = limit }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        if case .byteBuffer(let buffer) = unwrapOutboundIn(data) { sinceDrained += buffer.readableBytes }
        if sinceDrained >= limit, let channel = context.channel as? EmbeddedChannel {
            channel.isWritable = false
        }
        context.write(data, promise: promise)
    }
}

/// A flag that turns true once `future` completes.
private func completion(of future: EventLoopFuture<Void>) -> NIOLockedValueBox<Bool> {
    let done = NIOLockedValueBox(false)
    future.whenComplete { _ in done.withLockedValue { $0 = true } }
    return done
}

@Suite("ResponseFrameEncoder")
struct ResponseFrameEncoderTests {
    /// A temporary file of `size` bytes from a seeded generator; removed by the caller.
    private static func file(size: Int, seed: UInt64) throws -> (path: String, bytes: [UInt8]) {
        var random = SplitMix64(seed: seed)
        let bytes = (0..<size).map { _ in UInt8(truncatingIfNeeded: random.next()) }
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("frame-encoder-\(UUID().uuidString)").path
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        return (path, bytes)
    }

    /// A frame of a header buffer, `length` bytes of the file at `path` from `position`, and a
    /// trailer buffer; and the bytes it stands for, size prefix included.
    private static func frame(
        header: [UInt8], path: String, fileBytes: [UInt8], position: Int, length: Int, trailer: [UInt8]
    ) throws
        -> (ResponseFrame, [UInt8])
    {
        var frame = ResponseFrame()
        frame.append(ByteBuffer(bytes: header))
        let descriptor = open(path, O_RDONLY)
        defer { close(descriptor) }
        try frame.appendFile(descriptor: descriptor, position: Int64(position), length: length)
        frame.append(ByteBuffer(bytes: trailer))
        var prefix = ByteBuffer()
        prefix.writeInteger(Int32(header.count + length + trailer.count))
        return (frame, Array(prefix.readableBytesView) + header + fileBytes[position..<position + length] + trailer)
    }

    /// Everything written to the channel so far, as buffers (a file region fails the test).
    private static func written(_ channel: EmbeddedChannel) throws -> [ByteBuffer] {
        var buffers: [ByteBuffer] = []
        while let part = try channel.readOutbound(as: IOData.self) {
            guard case .byteBuffer(let buffer) = part else {
                Issue.record("a file region reached the channel")
                continue
            }
            buffers.append(buffer)
        }
        return buffers
    }

    @Test("over TLS a file region goes out as buffers of at most one chunk, byte for byte", arguments: [UInt64(1), 2, 3])
    func chunks(seed: UInt64) throws {
        print("ResponseFrameEncoderTests.chunks seed \(seed)")
        var random = SplitMix64(seed: seed)
        let (path, bytes) = try Self.file(size: 300_000, seed: seed)
        defer { try? FileManager.default.removeItem(atPath: path) }
        let position = Int(random.next() % 1000)
        let length = 100_000 + Int(random.next() % 150_000)
        let (frame, expected) = try Self.frame(
            header: [1, 2, 3], path: path, fileBytes: bytes, position: position, length: length, trailer: [9, 9])
        let channel = EmbeddedChannel(handler: ResponseFrameEncoder(readsFiles: true, chunkBytes: 16 * 1024))
        let written = channel.writeAndFlush(frame)
        let buffers = try Self.written(channel)
        #expect(buffers.flatMap { Array($0.readableBytesView) } == expected, "seed \(seed)")
        #expect(buffers.allSatisfy { $0.readableBytes <= 16 * 1024 })
        #expect(buffers.count >= length / (16 * 1024))
        try written.wait()
        _ = try channel.finish()
    }

    @Test("over TLS nothing more is read while the channel is unwritable, and later frames wait their turn")
    func readsOnlyWhileWritable() throws {
        let (path, bytes) = try Self.file(size: 200_000, seed: 7)
        defer { try? FileManager.default.removeItem(atPath: path) }
        let (first, firstBytes) = try Self.frame(header: [1], path: path, fileBytes: bytes, position: 0, length: 200_000, trailer: [2])
        let second = ResponseFrame(body: ByteBuffer(bytes: [7, 7, 7]))
        let socket = SocketBufferStandIn(limit: 40_000)
        let channel = EmbeddedChannel()
        try channel.pipeline.syncOperations.addHandlers([socket, ResponseFrameEncoder(readsFiles: true, chunkBytes: 10_000)])

        let firstWritten = channel.write(first)
        let secondWritten = channel.writeAndFlush(second)
        let firstDone = completion(of: firstWritten)
        let secondDone = completion(of: secondWritten)
        var received = try Self.written(channel).flatMap { Array($0.readableBytesView) }
        // The stand-in turned unwritable at 40,000 bytes: at most one chunk went past that.
        #expect(received.count >= 40_000 && received.count < 40_000 + 10_000 + 16)
        #expect(!firstDone.withLockedValue { $0 } && !secondDone.withLockedValue { $0 })

        var drains = 0
        while !secondDone.withLockedValue({ $0 }) {
            drains += 1
            socket.sinceDrained = 0
            channel.isWritable = true
            channel.pipeline.fireChannelWritabilityChanged()
            received += try Self.written(channel).flatMap { Array($0.readableBytesView) }
            #expect(drains < 100, "the frames never finished")
            if drains >= 100 { break }
        }
        #expect(received == firstBytes + [0, 0, 0, 3, 7, 7, 7])
        #expect(drains >= 4, "200,000 bytes in steps of 40,000 need at least 4 more drains")
        try firstWritten.wait()
        try secondWritten.wait()
        _ = try channel.finish()
    }

    @Test("frames queued when the connection closes fail, and close their files")
    func closeFailsQueuedFrames() throws {
        let (path, bytes) = try Self.file(size: 50_000, seed: 11)
        defer { try? FileManager.default.removeItem(atPath: path) }
        var (frame, _): (ResponseFrame?, [UInt8]) = try Self.frame(
            header: [1], path: path, fileBytes: bytes, position: 0, length: 50_000, trailer: [])
        var handle: NIOFileHandle?
        for case .fileRegion(let region) in try #require(frame).parts { handle = region.fileHandle }
        let owned = try #require(handle)
        let channel = EmbeddedChannel(handler: ResponseFrameEncoder(readsFiles: true, chunkBytes: 10_000))
        channel.isWritable = false
        let written = channel.writeAndFlush(try #require(frame))
        frame = nil
        #expect(try Self.written(channel).isEmpty)
        #expect(owned.isOpen, "the queued frame keeps its descriptor")
        _ = try? channel.finish()
        #expect(throws: (any Error).self) { try written.wait() }
        #expect(!owned.isOpen, "the dropped frame closed its descriptor")
    }

    @Test("on plaintext a file region reaches the channel whole, for sendfile")
    func plaintextKeepsRegions() throws {
        let (path, bytes) = try Self.file(size: 10_000, seed: 5)
        defer { try? FileManager.default.removeItem(atPath: path) }
        let (frame, _) = try Self.frame(header: [1], path: path, fileBytes: bytes, position: 100, length: 5_000, trailer: [2])
        let channel = EmbeddedChannel(handler: ResponseFrameEncoder())
        channel.writeAndFlush(frame, promise: nil)
        var regions: [FileRegion] = []
        while let part = try channel.readOutbound(as: IOData.self) {
            if case .fileRegion(let region) = part { regions.append(region) }
        }
        #expect(regions.map(\.readerIndex) == [100])
        #expect(regions.map(\.readableBytes) == [5_000])
        _ = try channel.finish()
    }
}
