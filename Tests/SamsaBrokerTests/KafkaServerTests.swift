import Logging
import NIOCore
import SamsaProtocol
import NIOPosix
import ServiceLifecycle
import Testing

@testable import SamsaBroker

/// Answers each frame with its own bytes reversed; a frame starting with 0xFF gets no response,
/// and one starting with 0xEE closes the connection.
private struct ReversingProcessor: RequestProcessor {
    func process(_ frame: ByteBuffer, connection: ConnectionContext) async throws(RequestRejection) -> ResponseFrame? {
        let bytes = Array(frame.readableBytesView)
        switch bytes.first {
        case 0xFF: return nil
        case 0xEE: throw RequestRejection("test rejection")
        default: return ResponseFrame(body: ByteBuffer(bytes: bytes.reversed()))
        }
    }
}

/// Answers like ``ReversingProcessor``, but a frame starting with 0xAA lets the next request
/// start, then waits for a frame starting with 0xBB before it answers.
private struct GatedProcessor: RequestProcessor {
    let later: AsyncStream<Void>
    let laterArrived: AsyncStream<Void>.Continuation

    init() {
        (later, laterArrived) = AsyncStream.makeStream(of: Void.self)
    }

    func mayAllowNext(_ frame: ByteBuffer) -> Bool { frame.readableBytesView.first == 0xAA }

    func process(_ frame: ByteBuffer, connection: ConnectionContext) async throws(RequestRejection) -> ResponseFrame? {
        let bytes = Array(frame.readableBytesView)
        if bytes.first == 0xAA {
            connection.ordering?.allowNext()
            for await _ in later { break }
        } else if bytes.first == 0xBB {
            laterArrived.yield()
        }
        return ResponseFrame(body: ByteBuffer(bytes: bytes.reversed()))
    }
}

/// A minimal framed client for tests.
private func withClient<Result: Sendable>(
    _ address: SocketAddress,
    _ body: (NIOAsyncChannelInboundStream<ByteBuffer>.AsyncIterator, NIOAsyncChannelOutboundWriter<ByteBuffer>) async throws -> Result
) async throws -> Result {
    let client = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
        .connect(to: address) { channel in
            channel.eventLoop.makeCompletedFuture {
                try channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(KafkaFrameDecoder(maxFrameBytes: 1 << 20)))
                return try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: channel)
            }
        }
    return try await client.executeThenClose { inbound, outbound in
        try await body(inbound.makeAsyncIterator(), outbound)
    }
}

private func framed(_ bytes: [UInt8]) -> ByteBuffer {
    var buffer = ByteBuffer()
    buffer.writeInteger(Int32(bytes.count))
    buffer.writeBytes(bytes)
    return buffer
}

@Suite("KafkaServer")
struct KafkaServerTests {
    private func withServer(
        processor: any RequestProcessor = ReversingProcessor(), _ body: (SocketAddress) async throws -> Void
    ) async throws {
        let server = KafkaServer(
            configuration: .init(host: "127.0.0.1", port: 0, maxFrameBytes: 1024),
            processor: processor,
            logger: Logger(label: "test")
        )
        let group = ServiceGroup(services: [server], logger: Logger(label: "test"))
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await group.run() }
            let address = try await server.boundAddress
            try await body(address)
            await group.triggerGracefulShutdown()
            try await tasks.waitForAll()
        }
    }

    @Test("pipelined requests are answered in order; acks=0-style requests get nothing")
    func ordering() async throws {
        try await withServer { address in
            try await withClient(address) { inbound, outbound in
                var inbound = inbound
                try await outbound.write(contentsOf: [framed([1, 2, 3]), framed([0xFF, 9]), framed([4, 5]), framed([])])
                #expect(Array(try #require(try await inbound.next()).readableBytesView) == [3, 2, 1])
                #expect(Array(try #require(try await inbound.next()).readableBytesView) == [5, 4])
                #expect(try #require(try await inbound.next()).readableBytes == 0)
            }
        }
    }

    @Test("an oversized frame or a rejected request closes only that connection")
    func badInputClosesConnection() async throws {
        try await withServer { address in
            try await withClient(address) { inbound, outbound in
                var inbound = inbound
                var huge = ByteBuffer()
                huge.writeInteger(Int32(1_000_000))
                try await outbound.write(huge)
                #expect(try await inbound.next() == nil)
            }
            try await withClient(address) { inbound, outbound in
                var inbound = inbound
                try await outbound.write(framed([0xEE]))
                #expect(try await inbound.next() == nil)
            }
            try await withClient(address) { inbound, outbound in
                var inbound = inbound
                try await outbound.write(framed([7, 8]))
                #expect(Array(try #require(try await inbound.next()).readableBytesView) == [8, 7])
            }
        }
    }

    @Test(
        "a request that allows it lets the next one start before it is answered; the answers keep request order",
        .timeLimit(.minutes(1)))
    func pipelining() async throws {
        try await withServer(processor: GatedProcessor()) { address in
            try await withClient(address) { inbound, outbound in
                var inbound = inbound
                // The first is answered only once the second has started: without pipelining
                // this would never end.
                try await outbound.write(contentsOf: [framed([0xAA, 1]), framed([0xBB, 2]), framed([3])])
                #expect(Array(try #require(try await inbound.next()).readableBytesView) == [1, 0xAA])
                #expect(Array(try #require(try await inbound.next()).readableBytesView) == [2, 0xBB])
                #expect(Array(try #require(try await inbound.next()).readableBytesView) == [3])
            }
        }
    }
}
