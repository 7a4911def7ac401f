import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import NIOSSL
import SamsaProtocol
import ServiceLifecycle

/// The TCP listener: accepts connections, frames requests and runs one request loop per
/// connection. Runs as a ServiceLifecycle `Service`; on graceful shutdown it stops accepting,
/// lets every connection finish the request it is handling, and returns once all are closed.
public final class KafkaServer: Service, Sendable {
    /// Listener settings.
    public struct Configuration: Sendable {
        /// The address to bind, e.g. "127.0.0.1".
        public var host: String
        /// The port to bind; 0 picks a free port (see `boundAddress`).
        public var port: Int
        /// The largest request frame accepted (Kafka's `socket.request.max.bytes`, default 100 MiB).
        public var maxFrameBytes: Int
        /// The listener's name, which Metadata uses to advertise this listener's address.
        public var listenerName: String
        public var securityProtocol: SecurityProtocol
        /// The TLS context; required exactly when the protocol uses TLS.
        public var tls: NIOSSLContext?
        /// The largest frame before a SASL connection has authenticated
        /// (`sasl.server.max.receive.size`).
        public var maxFrameBytesBeforeAuthentication: Int
        /// Counts connections against `max.connections` and `max.connections.per.ip`; shared
        /// by a broker's listeners.
        public var limiter = ConnectionLimiter()
        /// `connections.max.idle.ms`: a connection with no traffic for this long is closed.
        public var maxIdleTime: TimeAmount? = .minutes(10)
        /// A request frame must arrive whole within this of its first byte (slowloris).
        public var frameArrivalTimeout: TimeAmount? = .seconds(30)
        /// The most bytes of requests a connection holds started and not yet answered.
        public var maxQueuedRequestBytes = 16 * 1024 * 1024
        /// The TCP congestion control that loopback connections get in place of a pacing one
        /// (BBR); nil keeps the system's. See ``LoopbackCongestionControl``.
        public var loopbackCongestionControl: String? = "cubic"

        public init(
            host: String = "127.0.0.1", port: Int = 9092, maxFrameBytes: Int = 100 * 1024 * 1024,
            listenerName: String = "PLAINTEXT", securityProtocol: SecurityProtocol = .plaintext, tls: NIOSSLContext? = nil,
            maxFrameBytesBeforeAuthentication: Int = 524_288
        ) {
            self.host = host
            self.port = port
            self.maxFrameBytes = maxFrameBytes
            self.listenerName = listenerName
            self.securityProtocol = securityProtocol
            self.tls = tls
            self.maxFrameBytesBeforeAuthentication = maxFrameBytesBeforeAuthentication
        }
    }

    private let configuration: Configuration
    private let processor: any RequestProcessor
    private let eventLoopGroup: any EventLoopGroup
    private let logger: Logger
    private let state = NIOLockedValueBox(State())
    private let bound: EventLoopPromise<SocketAddress>

    private struct State {
        var nextConnectionID: UInt64 = 1
    }

    public init(
        configuration: Configuration,
        processor: any RequestProcessor,
        eventLoopGroup: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
        logger: Logger
    ) {
        precondition(
            configuration.securityProtocol.usesTLS == (configuration.tls != nil),
            "listener \(configuration.listenerName): a TLS context is needed exactly for SSL and SASL_SSL")
        self.configuration = configuration
        self.processor = processor
        self.eventLoopGroup = eventLoopGroup
        self.logger = logger
        self.bound = eventLoopGroup.next().makePromise(of: SocketAddress.self)
    }

    deinit {
        bound.fail(CancellationError())
    }

    /// The address the server listens on, once it is bound (useful with port 0).
    public var boundAddress: SocketAddress {
        get async throws { try await bound.futureResult.get() }
    }

    public func run() async throws {
        let configuration = self.configuration
        let congestionControl = LoopbackCongestionControl(replacement: configuration.loopbackCongestionControl)
        let logger = self.logger
        let serverChannel: NIOAsyncChannel<AcceptedConnection, Never>
        do {
            serverChannel = try await ServerBootstrap(group: eventLoopGroup)
                .serverChannelOption(.backlog, value: 256)
                .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
                .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
                .childChannelOption(.allowRemoteHalfClosure, value: true)
                .bind(host: configuration.host, port: configuration.port) { channel in
                    congestionControl.apply(to: channel).whenFailure { error in
                        logger.debug(
                            "loopback connection keeps its congestion control",
                            metadata: ["wanted": "\(congestionControl.replacement ?? "-")", "error": "\(error)"])
                    }
                    return channel.eventLoop.makeCompletedFuture {
                        let session = ConnectionSession(
                            listenerName: configuration.listenerName, securityProtocol: configuration.securityProtocol,
                            maxFrameBytes: configuration.maxFrameBytes,
                            maxFrameBytesBeforeAuthentication: configuration.maxFrameBytesBeforeAuthentication)
                        let handlers = channel.pipeline.syncOperations
                        if let idle = configuration.maxIdleTime {
                            try handlers.addHandler(IdleConnectionCloser(limit: idle))
                        }
                        if let tls = configuration.tls {
                            try handlers.addHandler(NIOSSLServerHandler(context: tls))
                            try handlers.addHandler(TLSPrincipalHandler(session: session))
                            try handlers.addHandler(TLSInputCloser())
                        }
                        if let timeout = configuration.frameArrivalTimeout {
                            try handlers.addHandler(FrameDeadlineHandler(limit: timeout))
                        }
                        try handlers.addHandler(ByteToMessageHandler(KafkaFrameDecoder(limit: session.frameLimit)))
                        // Over TLS the records must pass through the TLS handler: no sendfile.
                        try handlers.addHandler(ResponseFrameEncoder(readsFiles: configuration.tls != nil))
                        return AcceptedConnection(
                            channel: try NIOAsyncChannel<ByteBuffer, ResponseFrame>(
                                wrappingChannelSynchronously: channel, configuration: Self.channelConfiguration),
                            session: session
                        )
                    }
                }
        } catch {
            bound.fail(error)
            throw error
        }
        let address = serverChannel.channel.localAddress!
        bound.succeed(address)
        logger.info(
            "listening",
            metadata: [
                "address": "\(address)", "listener": "\(configuration.listenerName)",
                "security": "\(configuration.securityProtocol.rawValue)",
            ])

        try await withGracefulShutdownHandler {
            try await withThrowingDiscardingTaskGroup { group in
                try await serverChannel.executeThenClose { connections in
                    for try await accepted in connections {
                        let connectionID = state.withLockedValue { state in
                            defer { state.nextConnectionID += 1 }
                            return state.nextConnectionID
                        }
                        group.addTask {
                            await self.serve(accepted.take(), session: accepted.session, connectionID: connectionID)
                        }
                    }
                }
            }
        } onGracefulShutdown: {
            // Stop accepting; the accept loop ends and the task group waits for connections.
            serverChannel.channel.close(promise: nil)
        }
        logger.info("stopped listening", metadata: ["address": "\(address)"])
    }

    /// The request loop of one connection.
    private func serve(_ connection: NIOAsyncChannel<ByteBuffer, ResponseFrame>, session: ConnectionSession, connectionID: UInt64) async {
        let channel = connection.channel
        let address = channel.remoteAddress?.ipAddress ?? "-"
        guard configuration.limiter.admit(address) else {
            logger.warning(
                "refusing a connection over max.connections or max.connections.per.ip",
                metadata: ["peer": "\(address)", "listener": "\(configuration.listenerName)"])
            try? await connection.executeThenClose { _, _ in }
            return
        }
        defer { configuration.limiter.release(address) }
        let context = ConnectionContext(
            connectionID: connectionID,
            remoteAddress: channel.remoteAddress,
            allocator: channel.allocator,
            session: session
        )
        var logger = self.logger
        logger[metadataKey: "connection"] = "\(connectionID)"
        if let remote = channel.remoteAddress {
            logger[metadataKey: "peer"] = "\(remote)"
        }
        logger.debug("connection opened")
        await withTaskExecutorPreference(EventLoopTaskExecutor(channel.eventLoop)) {
            await serveRequests(connection, channel: channel, context: context, logger: logger)
        }
        logger.debug("connection closed")
    }

    /// Serves the connection until it closes, logging why it did. Runs on the connection's event
    /// loop (see ``EventLoopTaskExecutor``).
    private func serveRequests(
        _ connection: NIOAsyncChannel<ByteBuffer, ResponseFrame>, channel: any Channel, context: ConnectionContext,
        logger: Logger
    ) async {
        do {
            try await withGracefulShutdownHandler {
                try await connection.executeThenClose { inbound, _ in
                    try await pipeline(inbound: inbound, channel: channel, context: context, logger: logger)
                }
            } onGracefulShutdown: {
                // Ends the inbound stream after the requests in progress; their responses still go out.
                channel.close(mode: .input, promise: nil)
            }
        } catch let error as FrameSizeError {
            logger.warning("closing connection: \(error)")
        } catch let error as FrameStalledError {
            logger.warning("closing connection: \(error)")
        } catch {
            logger.debug("connection closed: \(error)")
        }
    }

    /// Starts the connection's requests in order and writes their answers in that order,
    /// holding at most ``pipelinedRequests`` of them at once.
    ///
    /// Requests that may let the next one start early (produce: once appended, while it waits
    /// for its fsync; see ``RequestOrdering``) run as child tasks, on the executor the processor
    /// picks for each (the connection's event loop when it picks none); every other request
    /// runs in the reading loop itself, on the connection's event loop.
    /// Answers are written by the event loop as they complete, in order, chained on futures: no
    /// task wakes up between a handler's answer and its write.
    private func pipeline(
        inbound: NIOAsyncChannelInboundStream<ByteBuffer>, channel: any Channel, context: ConnectionContext, logger: Logger
    ) async throws {
        let budget = PipelineBudget(maxRequests: Self.pipelinedRequests, maxBytes: configuration.maxQueuedRequestBytes)
        let processor = self.processor
        // A child task given no executor would start on Swift's global one rather than keep the
        // loop's: those the processor leaves to the connection name its loop.
        let connectionExecutor = EventLoopTaskExecutor(channel.eventLoop)
        var answers = OrderedAnswers(channel: channel, budget: budget, logger: logger)
        try await withThrowingDiscardingTaskGroup { group in
            for try await frame in inbound {
                await budget.acquire(frame.readableBytes)
                // Closed: the answers stopped (a closing answer, a failed write); frames NIO had
                // already read are not started.
                if Task.isCancelled || budget.isClosed { break }
                let promise = channel.eventLoop.makePromise(of: ResponseFrame?.self)
                answers.append(promise.futureResult, bytes: frame.readableBytes)
                if processor.mayAllowNext(frame) {
                    let ordering = RequestOrdering()
                    var requestContext = context
                    requestContext.ordering = ordering
                    group.addTask(executorPreference: processor.pipelinedRequestExecutor(for: frame) ?? connectionExecutor) {
                        do throws(RequestRejection) {
                            promise.succeed(try await processor.process(frame, connection: requestContext))
                        } catch {
                            promise.fail(error)
                        }
                        ordering.allowNext()
                    }
                    await ordering.wait()
                } else {
                    do throws(RequestRejection) {
                        promise.succeed(try await processor.process(frame, connection: context))
                    } catch {
                        promise.fail(error)
                    }
                }
                let mute = context.session.takeMute()
                if mute > 0 {
                    // A client over its quota: its answer went out, its next request waits.
                    try? await Task.sleep(for: .milliseconds(mute))
                }
            }
        }
        // Every answer is written, or the connection failed, before the channel closes.
        try? await answers.written.get()
    }

    /// Requests of one connection started and not yet answered, at most.
    ///
    /// Small durable produce requests need a deep pipeline: a connection completes at most
    /// this many per fsync round. librdkafka without idempotence and with `linger.ms` 0 sends
    /// about a request per record; at 20,000 records/s and 1 ms fsyncs, 16 let the socket's
    /// queue grow until records waited 0.1-0.3 s, where 128 keep them at 1.5-3 ms (p50).
    /// Large requests are bounded by bytes rather than by this count
    /// (`connection.queued.max.request.bytes`, by default 16 MiB: about 16 requests of 1 MB).
    static let pipelinedRequests = 128

    /// NIO stops reading a connection once four decoded frames wait for the reading loop (its
    /// default lets ten wait), so what a connection holds is its pipeline budget
    /// (`connection.queued.max.request.bytes`) and at most four frames more. Produce throughput
    /// with 1 MB requests was the same with 4 and 10 in alternating runs; 2 looked slower.
    static let channelConfiguration = NIOAsyncChannel<ByteBuffer, ResponseFrame>.Configuration(
        backPressureStrategy: .init(lowWatermark: 2, highWatermark: 4))
}

/// A connection's answers, written by its event loop in request order as they complete.
///
/// Each answer is handed to the channel after the answer before it, so answers go out in order
/// however their handlers interleave; a write frees its request's room in the ``PipelineBudget``
/// once NIO has taken it. A request that fails (a ``RequestRejection``) or a write that fails
/// closes the connection after the answers before it, and the budget, so the reading loop stops.
///
/// Answers are written without a flush each: one flush, run once the loop has handed on every
/// answer ready, sends them in one system call. Twenty small produce answers completed by one
/// fsync round then cost one write instead of twenty.
private struct OrderedAnswers {
    private let channel: any Channel
    private let budget: PipelineBudget
    private let logger: Logger
    private let writer: CoalescedFlush
    /// Completes once every answer appended so far is handed to the channel; fails once the
    /// answers stopped.
    private var handedOn: EventLoopFuture<Void>

    init(channel: any Channel, budget: PipelineBudget, logger: Logger) {
        self.channel = channel
        self.budget = budget
        self.logger = logger
        self.writer = CoalescedFlush(channel: channel)
        self.handedOn = channel.eventLoop.makeSucceededVoidFuture()
    }

    /// Completes once every answer appended so far is written; fails once the answers stopped.
    /// A channel completes its writes in order, so the last one handed on is the last to finish.
    var written: EventLoopFuture<Void> {
        let writer = self.writer
        return handedOn.flatMap { writer.lastWrite }
    }

    /// Writes `answer` after the answers appended before it; `bytes` is its request's size.
    mutating func append(_ answer: EventLoopFuture<ResponseFrame?>, bytes: Int) {
        let channel = self.channel
        let budget = self.budget
        let logger = self.logger
        let writer = self.writer
        handedOn = handedOn.flatMap {
            answer.flatMapError { error in
                logger.warning("closing connection: \(error)")
                stop(channel, budget)
                return channel.eventLoop.makeFailedFuture(error)
            }.map { response in
                guard let response else {
                    budget.release(bytes)
                    return
                }
                let write = writer.write(response)
                if response.closesConnection {
                    // No request after it starts; the close runs once the answer is written.
                    budget.close()
                    write.whenComplete { _ in channel.close(promise: nil) }
                    return
                }
                write.whenComplete { result in
                    switch result {
                    case .success:
                        budget.release(bytes)
                    case .failure(let error):
                        logger.debug("connection closed: \(error)")
                        stop(channel, budget)
                    }
                }
            }
        }
    }
}

/// Writes a connection's answers and flushes them together: the first write since the last
/// flush schedules one on the event loop, which runs after the tasks already queued there (the
/// other answers that completed meanwhile). Used on the channel's event loop only.
final class CoalescedFlush: Sendable {
    private struct State {
        var flushPending = false
        var lastWrite: EventLoopFuture<Void>
    }

    private let channel: any Channel
    private let state: NIOLoopBoundBox<State>

    init(channel: any Channel) {
        self.channel = channel
        self.state = NIOLoopBoundBox(State(lastWrite: channel.eventLoop.makeSucceededVoidFuture()), eventLoop: channel.eventLoop)
    }

    /// The write of the last response handed on (succeeded before the first).
    var lastWrite: EventLoopFuture<Void> { state.value.lastWrite }

    /// Writes `response`.
    func write(_ response: ResponseFrame) -> EventLoopFuture<Void> {
        let write = channel.write(response)
        state.value.lastWrite = write
        if !state.value.flushPending {
            state.value.flushPending = true
            channel.eventLoop.execute { [self] in
                state.value.flushPending = false
                channel.flush()
            }
        }
        return write
    }
}

/// Ends a connection's answers: the reading loop stops and the channel closes.
private func stop(_ channel: any Channel, _ budget: PipelineBudget) {
    budget.close()
    channel.close(promise: nil)
}

/// A connection the listener accepted, handed to its task. One that never reaches a task (the
/// listener closed while it was being set up) is closed when it goes away: an `NIOAsyncChannel`
/// must end through `executeThenClose`, or it traps.
final class AcceptedConnection: Sendable {
    let session: ConnectionSession
    private let channel: NIOLockedValueBox<NIOAsyncChannel<ByteBuffer, ResponseFrame>?>

    init(channel: NIOAsyncChannel<ByteBuffer, ResponseFrame>, session: ConnectionSession) {
        self.channel = NIOLockedValueBox(channel)
        self.session = session
    }

    /// The channel, for the one task that serves it.
    func take() -> NIOAsyncChannel<ByteBuffer, ResponseFrame> {
        channel.withLockedValue { channel in
            defer { channel = nil }
            return channel!
        }
    }

    deinit {
        guard let unserved = channel.withLockedValue({ $0 }) else { return }
        Task { try? await unserved.executeThenClose { _, _ in } }
    }
}
