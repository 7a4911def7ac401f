import Foundation
import Logging
import NIOCore
import NIOPosix
import SamsaCoordination
import SamsaProtocol
import SamsaTesting
import ServiceLifecycle

@testable import SamsaBroker

/// Runs `body` with a fresh temporary directory, removed afterwards.
func withGroupTestDirectory<Result>(_ body: (TestDataDirectory) async throws -> Result) async throws -> Result {
    try await withTestDirectory(prefix: "samsa-groups", body)
}

/// Group settings for fast tests: no initial delay, sessions as short as 50 ms.
func fastGroupSettings(_ configuration: inout BrokerConfiguration) {
    configuration.groups.classic = ClassicGroupSettings(initialRebalanceDelayMs: 0, minSessionTimeoutMs: 50)
}

/// Runs a real broker and server on a free port over `dataDirectory` while `body` runs, then
/// shuts both down gracefully.
func withGroupTestBroker<Result: Sendable>(
    dataDirectory: TestDataDirectory, configure: (inout BrokerConfiguration) -> Void = fastGroupSettings,
    _ body: (Broker, SocketAddress) async throws -> Result
) async throws -> Result {
    try await withTestBroker(dataDirectory: dataDirectory, configure: configure, body)
}

/// Creates a topic on `broker`.
func createGroupTestTopic(_ broker: Broker, _ name: String, partitions: Int32) async throws {
    let core = broker.core
    _ = try await core.blocking.run { try core.createTopic(name: name, partitionCount: partitions) }
}

/// Hands each received frame to an `AsyncStream`.
private final class GroupTestFrameCollector: ChannelInboundHandler, Sendable {
    typealias InboundIn = ByteBuffer
    let continuation: AsyncStream<ByteBuffer>.Continuation

    init(_ continuation: AsyncStream<ByteBuffer>.Continuation) {
        self.continuation = continuation
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        continuation.yield(unwrapInboundIn(data))
    }

    func channelInactive(context: ChannelHandlerContext) {
        continuation.finish()
        context.fireChannelInactive()
    }
}

struct GroupTestConnectionClosed: Error {}

/// A framed Kafka connection over a real socket: one request at a time.
actor GroupTestClient {
    private let channel: any Channel
    private var frames: AsyncStream<ByteBuffer>.AsyncIterator
    private var nextCorrelationId: Int32 = 1

    private init(channel: any Channel, frames: AsyncStream<ByteBuffer>.AsyncIterator) {
        self.channel = channel
        self.frames = frames
    }

    static func connect(to address: SocketAddress) async throws -> GroupTestClient {
        let (stream, continuation) = AsyncStream.makeStream(of: ByteBuffer.self)
        let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(KafkaFrameDecoder(maxFrameBytes: 64 << 20)))
                    try channel.pipeline.syncOperations.addHandler(GroupTestFrameCollector(continuation))
                }
            }
            .connect(to: address).get()
        return GroupTestClient(channel: channel, frames: stream.makeAsyncIterator())
    }

    /// Sends `request` at `version` and decodes its response.
    @discardableResult
    func send<Request: KafkaRequestMessage>(_ request: Request, version: Int16) async throws -> Request.Response {
        let correlationId = nextCorrelationId
        nextCorrelationId += 1
        var body = channel.allocator.buffer(capacity: 256)
        KafkaRequest.encode(request, version: version, correlationId: correlationId, clientId: "group-test", into: &body)
        var frame = channel.allocator.buffer(capacity: body.readableBytes + 4)
        frame.writeInteger(Int32(body.readableBytes))
        frame.writeBuffer(&body)
        try await channel.writeAndFlush(frame)
        var iterator = frames
        let received = await iterator.next(isolation: self)
        frames = iterator
        guard var response = received else { throw GroupTestConnectionClosed() }
        let (header, decoded) = try KafkaResponse.decode(Request.Response.self, version: version, from: &response)
        precondition(header.correlationId == correlationId, "response out of order")
        return decoded
    }

    func close() async {
        try? await channel.close()
    }
}

/// Moves the broker's manual clock forward and applies every group timeout due by then
/// (sessions, rebalances, offset retention) before returning, so the test sees the outcome at
/// once instead of waiting for the coordinator's timer task.
func advanceGroupTime(_ broker: Broker, _ directory: TestDataDirectory, byMilliseconds milliseconds: Int64) async {
    directory.clock.advance(byMilliseconds: milliseconds)
    await broker.groups.runTimers()
}

/// Waits until `count` members have joined classic group `groupId` (their JoinGroup waits for
/// the initial rebalance delay): the event after which a test moves the clock past that delay.
func waitForClassicMembers(_ broker: Broker, groupId: String, count: Int) async throws -> Bool {
    try await testEventually { (await broker.groups.group(groupId)?.members.count ?? 0) >= count }
}

/// Moves the clock through classic group `groupId`'s initial rebalance delay, one step of
/// `stepMs` at a time, until the join phase ends. As in Kafka, a step in which members joined
/// is followed by another step, so a test cannot tell in advance how many steps it takes.
func passInitialRebalanceDelay(_ broker: Broker, _ directory: TestDataDirectory, groupId: String, stepMs: Int64) async {
    while await broker.groups.group(groupId)?.state == .preparingRebalance {
        await advanceGroupTime(broker, directory, byMilliseconds: stepMs)
    }
}
