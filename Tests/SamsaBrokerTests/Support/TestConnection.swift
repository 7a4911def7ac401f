import NIOCore
import NIOPosix
import SamsaProtocol

@testable import SamsaBroker

/// A framed Kafka connection over one real socket, for the duration of a `with` block and used
/// from one task: encodes requests with `KafkaRequest.encode`, reads response frames with the
/// broker's own frame decoder, and decodes them with `KafkaResponse.decode`.
///
/// The per-area test clients (admin, produce, fetch) are thin views over this one.
final class TestConnection {
    enum Failure: Error {
        case connectionClosed
        case wrongCorrelationId(expected: Int32, got: Int32)
        case trailingBytes(Int)
    }

    private var inbound: NIOAsyncChannelInboundStream<ByteBuffer>.AsyncIterator
    private let outbound: NIOAsyncChannelOutboundWriter<ByteBuffer>
    private let clientId: String
    private var nextCorrelationId: Int32 = 1

    private init(
        inbound: NIOAsyncChannelInboundStream<ByteBuffer>.AsyncIterator, outbound: NIOAsyncChannelOutboundWriter<ByteBuffer>,
        clientId: String
    ) {
        self.inbound = inbound
        self.outbound = outbound
        self.clientId = clientId
    }

    /// Connects to `address` for the duration of `body`.
    static func with<Result>(
        _ address: SocketAddress, clientId: String, _ body: (TestConnection) async throws -> Result
    ) async throws -> Result {
        let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .connect(to: address) { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(KafkaFrameDecoder(maxFrameBytes: 256 << 20)))
                    return try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: channel)
                }
            }
        return try await channel.executeThenClose { inbound, outbound in
            try await body(TestConnection(inbound: inbound.makeAsyncIterator(), outbound: outbound, clientId: clientId))
        }
    }

    /// Sends `request` without waiting for the answer; returns its correlation id.
    @discardableResult
    func write<Request: KafkaRequestMessage>(_ request: Request, version: Int16) async throws -> Int32 {
        let correlationId = nextCorrelationId
        try await outbound.write(frame(request, version: version))
        return correlationId
    }

    /// The frame of `request` with the next correlation id, for a test that writes several
    /// frames at once with ``writeBytes(_:)``.
    func frame<Request: KafkaRequestMessage>(_ request: Request, version: Int16) -> ByteBuffer {
        let correlationId = nextCorrelationId
        nextCorrelationId += 1
        var body = ByteBuffer()
        KafkaRequest.encode(request, version: version, correlationId: correlationId, clientId: clientId, into: &body)
        var frame = ByteBuffer()
        frame.writeInteger(Int32(body.readableBytes))
        frame.writeBuffer(&body)
        return frame
    }

    /// Writes `bytes` as they are, in one write.
    func writeBytes(_ bytes: ByteBuffer) async throws {
        try await outbound.write(bytes)
    }

    /// The next response frame (after its size prefix), undecoded.
    func receiveFrame() async throws -> ByteBuffer {
        guard let frame = try await inbound.next() else { throw Failure.connectionClosed }
        return frame
    }

    /// Reads the next response, which must answer `correlationId` and fill its frame exactly.
    func receive<Response: KafkaResponseMessage>(_: Response.Type, version: Int16, correlationId: Int32) async throws -> Response {
        var frame = try await receiveFrame()
        let (header, body) = try KafkaResponse.decode(Response.self, version: version, from: &frame)
        guard header.correlationId == correlationId else {
            throw Failure.wrongCorrelationId(expected: correlationId, got: header.correlationId)
        }
        guard frame.readableBytes == 0 else { throw Failure.trailingBytes(frame.readableBytes) }
        return body
    }

    /// Sends `request` and waits for its response.
    func send<Request: KafkaRequestMessage>(_ request: Request, version: Int16) async throws -> Request.Response {
        let correlationId = try await write(request, version: version)
        return try await receive(Request.Response.self, version: version, correlationId: correlationId)
    }

    /// True once the broker has closed the connection (nothing more to read).
    func isClosedByPeer() async -> Bool {
        do {
            return try await inbound.next() == nil
        } catch {
            return true
        }
    }
}
