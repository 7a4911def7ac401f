import NIOCore
import NIOEmbedded
import SamsaProtocol
import SamsaTesting
import Testing

@testable import SamsaBroker

@Suite("Connection limits")
struct ConnectionLimitsTests {
    @Test("max.connections and max.connections.per.ip are counted across admissions and releases")
    func limiter() {
        let limiter = ConnectionLimiter(maxConnections: 3, maxConnectionsPerAddress: 2)
        #expect(limiter.admit("10.0.0.1") && limiter.admit("10.0.0.1"))
        #expect(!limiter.admit("10.0.0.1"), "a third connection from one address")
        #expect(limiter.admit("10.0.0.2"))
        #expect(!limiter.admit("10.0.0.3"), "a fourth connection in all")
        limiter.release("10.0.0.1")
        #expect(limiter.admit("10.0.0.3") && limiter.openConnections == 3)
    }

    @Test("a connection over max.connections.per.ip is closed before it is served; the others are served")
    func perAddressOverSockets() async throws {
        try await withTestBroker(dataDirectory: .inMemory(), configure: { $0.maxConnectionsPerIP = 2 }) { _, address in
            try await TestConnection.with(address, clientId: "first") { first in
                try await TestConnection.with(address, clientId: "second") { second in
                    _ = try await first.send(ApiVersionsRequest(), version: 0)
                    _ = try await second.send(ApiVersionsRequest(), version: 0)
                    try await TestConnection.with(address, clientId: "third") { third in
                        _ = try? await third.write(ApiVersionsRequest(), version: 0)
                        #expect(await third.isClosedByPeer())
                    }
                    #expect(try await first.send(ApiVersionsRequest(), version: 0).errorCode == 0)
                }
            }
        }
    }

    private func frameChannel(limit: TimeAmount) throws -> EmbeddedChannel {
        let channel = EmbeddedChannel()
        try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 9092)).wait()
        try channel.pipeline.syncOperations.addHandler(FrameDeadlineHandler(limit: limit))
        try channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(KafkaFrameDecoder(maxFrameBytes: 1 << 20)))
        return channel
    }

    @Test("a frame that stalls half-way, or trickles, is closed at the deadline of its first byte")
    func slowloris() throws {
        let channel = try frameChannel(limit: .seconds(30))
        try channel.writeInbound(ByteBuffer(bytes: [0, 0, 0, 10, 1, 2]))
        channel.embeddedEventLoop.advanceTime(by: .seconds(20))
        try channel.writeInbound(ByteBuffer(bytes: [3]))
        #expect(channel.isActive, "still within the deadline")
        channel.embeddedEventLoop.advanceTime(by: .seconds(10))
        #expect(!channel.isActive, "the trickling frame was not closed at 30 s")
        #expect(throws: FrameStalledError.self) { try channel.throwIfErrorCaught() }
    }

    @Test("whole frames, even split across reads, never trip the deadline")
    func wholeFrames() throws {
        let channel = try frameChannel(limit: .seconds(30))
        try channel.writeInbound(ByteBuffer(bytes: [0, 0]))
        try channel.writeInbound(ByteBuffer(bytes: [0, 2, 7, 7, 0, 0, 0, 1, 9]))
        channel.embeddedEventLoop.advanceTime(by: .minutes(5))
        #expect(channel.isActive)
        #expect(try channel.readInbound(as: ByteBuffer.self)?.readableBytes == 2)
        #expect(try channel.readInbound(as: ByteBuffer.self)?.readableBytes == 1)
        _ = try? channel.finish()
    }

    @Test("a connection with no traffic for connections.max.idle.ms is closed")
    func idle() throws {
        let channel = EmbeddedChannel()
        try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 9092)).wait()
        try channel.pipeline.syncOperations.addHandler(IdleConnectionCloser(limit: .seconds(600)))
        channel.embeddedEventLoop.advanceTime(by: .seconds(599))
        try channel.writeInbound(ByteBuffer(bytes: [1]))
        channel.embeddedEventLoop.advanceTime(by: .seconds(599))
        #expect(channel.isActive, "traffic restarted the idle time")
        channel.embeddedEventLoop.advanceTime(by: .seconds(1))
        #expect(!channel.isActive)
    }
}
