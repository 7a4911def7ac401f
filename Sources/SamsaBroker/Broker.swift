import Logging
import NIOCore
import NIOPosix
import NIOSSL
import SamsaCoordination
import SamsaProtocol
import SamsaStorage
import ServiceLifecycle

/// A Kafka-compatible broker: decodes each request, hands it to the handler of its API, and
/// encodes the answer. Also a ServiceLifecycle `Service` whose `run` does the periodic log
/// maintenance and, on shutdown, flushes and closes every log.
///
/// Run it next to a ``KafkaServer`` that uses it as its processor, with the server listed
/// after the broker in the `ServiceGroup`: services stop in reverse order, so the server stops
/// accepting and finishes its requests before the logs close.
public final class Broker: RequestProcessor, Service {
    package let core: BrokerCore
    /// The consumer groups and their committed offsets.
    package let groups: GroupCoordinator
    /// Transactional ids and their transactions.
    package let transactions: TransactionCoordinator
    let router: RequestRouter

    /// Opens the data directory (replaying the topic metadata and loading every log) and sets
    /// up the handlers.
    ///
    /// - Parameters:
    ///   - fileSystem: where the logs live (``InMemoryFileSystem`` for a broker without a disk).
    ///   - clock: the time every log, timer and deadline of the broker reads.
    ///   - random: the source of member ids, topic ids and the cluster id.
    public init(
        configuration: BrokerConfiguration,
        fileSystem: any FileSystem = PosixFileSystem(),
        clock: any BrokerClock = SystemClock(),
        random: any RandomSource = SystemRandomSource(),
        logger: Logger = Logger(label: "samsa.broker")
    ) throws {
        let topics = try TopicRegistry(
            dataDirectory: configuration.dataDirectory, fileSystem: fileSystem, clock: clock, random: random, logger: logger
        )
        let defaults = configuration.logDefaults
        let logs = try LogManager(
            dataDirectory: configuration.dataDirectory, fileSystem: fileSystem, clock: clock, logger: logger,
            configuration: { name in
                TopicConfigs.logConfig(overrides: topics.image.topic(named: name)?.configs ?? [:], defaults: defaults)
            }
        )
        core = BrokerCore(
            configuration: configuration, topics: topics, logs: logs,
            blocking: BlockingWork(threadCount: configuration.blockingThreadCount),
            producerIds: try ProducerIdManager(dataDirectory: configuration.dataDirectory, fileSystem: fileSystem),
            fileSystem: fileSystem, clock: clock, random: random, logger: logger
        )
        try core.authenticator.createBootstrapUsers()
        try core.reconcileLogs()
        // After a clean shutdown every snapshot was written at its log's end; only a crash can
        // leave one beyond it (reading them all was a tenth of a start with many partitions).
        if !logs.hadCleanShutdown { core.producerStates.removeSnapshotsBeyondLogEnd(logs: logs) }
        groups = try GroupCoordinator.load(core: core, configuration: configuration.groups)
        var transactionConfiguration = configuration.transactions
        transactionConfiguration.settings.maxTransactionTimeoutMs = Int32(clamping: configuration.transactionMaxTimeoutMilliseconds)
        transactions = try TransactionCoordinator.load(core: core, configuration: transactionConfiguration, groups: groups)
        router = Self.makeRouter(core, groups: groups, transactions: transactions)
    }

    /// The handlers of every implemented API. ApiVersions is added last so it lists them all.
    static func makeRouter(_ core: BrokerCore, groups: GroupCoordinator, transactions: TransactionCoordinator) -> RequestRouter {
        var router = RequestRouter()
        router.register(MetadataHandler(core: core))
        router.register(CreateTopicsHandler(core: core))
        router.register(DeleteTopicsHandler(core: core))
        router.register(DeleteRecordsHandler(core: core))
        router.register(DescribeConfigsHandler(core: core))
        router.register(AlterConfigsHandler(core: core))
        router.register(DescribeLogDirsHandler(core: core))
        router.register(CreatePartitionsHandler(core: core))
        router.register(IncrementalAlterConfigsHandler(core: core))
        router.register(DescribeClusterHandler(core: core))
        router.register(FindCoordinatorHandler(core: core, groups: groups))
        router.register(JoinGroupHandler(groups: groups))
        router.register(SyncGroupHandler(groups: groups))
        router.register(HeartbeatHandler(groups: groups))
        router.register(LeaveGroupHandler(groups: groups))
        router.register(OffsetCommitHandler(core: core, groups: groups, configuration: core.configuration.groups))
        router.register(OffsetFetchHandler(core: core, groups: groups))
        router.register(OffsetDeleteHandler(core: core, groups: groups))
        router.register(ListGroupsHandler(groups: groups))
        router.register(DescribeGroupsHandler(groups: groups))
        router.register(DeleteGroupsHandler(groups: groups))
        router.register(ProduceHandler(core: core, transactions: transactions))
        router.register(InitProducerIdHandler(core: core, transactions: transactions))
        router.register(AddPartitionsToTxnHandler(core: core, transactions: transactions))
        router.register(AddOffsetsToTxnHandler(core: core, groups: groups, transactions: transactions))
        router.register(EndTxnHandler(transactions: transactions))
        router.register(TxnOffsetCommitHandler(core: core, groups: groups, transactions: transactions))
        router.register(WriteTxnMarkersHandler(core: core, groups: groups))
        router.register(DescribeTransactionsHandler(transactions: transactions))
        router.register(ListTransactionsHandler(transactions: transactions))
        router.register(DescribeProducersHandler(core: core))
        router.register(ConsumerGroupHeartbeatHandler(groups: groups))
        router.register(ConsumerGroupDescribeHandler(core: core, groups: groups))
        router.register(FetchHandler(core: core))
        router.register(ListOffsetsHandler(core: core))
        router.register(OffsetForLeaderEpochHandler(core: core))
        router.register(SaslHandshakeHandler(authenticator: core.authenticator))
        router.register(SaslAuthenticateHandler(authenticator: core.authenticator))
        router.register(DescribeUserScramCredentialsHandler(core: core))
        router.register(AlterUserScramCredentialsHandler(core: core))
        router.register(CreateAclsHandler(core: core))
        router.register(DescribeAclsHandler(core: core))
        router.register(DeleteAclsHandler(core: core))
        router.register(DescribeClientQuotasHandler(core: core))
        router.register(AlterClientQuotasHandler(core: core))
        var advertised = router.advertisedVersions
        advertised.append((apiKey: .apiVersions, versions: ApiVersionsRequest.advertisedVersions))
        router.register(ApiVersionsHandler(advertised: advertised))
        return router
    }

    /// One server per configured listener, each with its security protocol and TLS context,
    /// answering through `processor` (the broker itself unless given). Throws a readable
    /// error for listeners that cannot start (see
    /// ``BrokerConfiguration/resolvedListeners()``); nothing listens then.
    public func makeServers(
        processor: (any RequestProcessor)? = nil, eventLoopGroup: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
        logger: Logger
    ) throws(ConfigurationError) -> [(listener: String, server: KafkaServer)] {
        let configuration = core.configuration
        let listeners = try configuration.resolvedListeners()
        var contexts: [SecurityProtocol: NIOSSLContext] = [:]
        for securityProtocol in Set(listeners.map(\.securityProtocol)) where securityProtocol.usesTLS {
            contexts[securityProtocol] = try configuration.security.tls.makeServerContext(forSASL: securityProtocol.usesSASL)
        }
        let limiter = ConnectionLimiter(
            maxConnections: configuration.maxConnections, maxConnectionsPerAddress: configuration.maxConnectionsPerIP)
        return listeners.map { listener, securityProtocol in
            var settings = KafkaServer.Configuration(
                host: listener.host, port: listener.port, maxFrameBytes: configuration.maxFrameBytes, listenerName: listener.name,
                securityProtocol: securityProtocol, tls: contexts[securityProtocol],
                maxFrameBytesBeforeAuthentication: configuration.security.sasl.maxReceiveBytes)
            settings.limiter = limiter
            let idle = configuration.connectionsMaxIdleMilliseconds
            settings.maxIdleTime = idle > 0 ? .milliseconds(idle) : nil
            let arrival = configuration.requestArrivalTimeoutMilliseconds
            settings.frameArrivalTimeout = arrival > 0 ? .milliseconds(arrival) : nil
            settings.maxQueuedRequestBytes = configuration.connectionQueuedMaxRequestBytes
            settings.loopbackCongestionControl = configuration.loopbackCongestionControl
            let server = KafkaServer(configuration: settings, processor: processor ?? self, eventLoopGroup: eventLoopGroup, logger: logger)
            return (listener.name, server)
        }
    }

    /// Tells the broker which port the first listener is bound to (for Metadata when listening
    /// on port 0).
    public func serverBound(to address: SocketAddress) {
        serverBound(listener: core.configuration.listeners[0].name, to: address)
    }

    /// Tells the broker which port the listener `name` is bound to.
    public func serverBound(listener name: String, to address: SocketAddress) {
        if let port = address.port {
            core.boundPorts[name]?.value = port
        }
    }

    /// Produce requests let the next request start once their batches are appended.
    public func mayAllowNext(_ frame: ByteBuffer) -> Bool {
        frame.getInteger(at: frame.readerIndex, as: Int16.self) == ApiKey.produce.rawValue
    }

    /// Large produce requests run on the blocking pool's threads, so their appends need no hop;
    /// small ones stay on the connection's event loop and append there when that does not
    /// block (see ``ProduceHandler/inlineAppendBytes``): no thread hand-off at all.
    public func pipelinedRequestExecutor(for frame: ByteBuffer) -> (any TaskExecutor)? {
        frame.readableBytes <= ProduceHandler.inlineAppendBytes ? nil : core.blocking.executor
    }

    public func process(_ frame: ByteBuffer, connection: ConnectionContext) async throws(RequestRejection) -> ResponseFrame? {
        let session = connection.session
        if session.expectsRawToken {
            return try await authenticateRawToken(frame, connection: connection)
        }
        var buffer = frame
        let request: KafkaRequest
        do throws(RequestFrameError) {
            request = try KafkaRequest.decode(from: &buffer)
        } catch {
            if case .unsupportedVersion(let header) = error, header.apiKey == .apiVersions {
                return ApiVersionsHandler.unsupportedVersionResponse(correlationId: header.correlationId, context: connection)
            }
            throw RequestRejection(error.description)
        }
        let header = request.header
        guard let route = router.route(for: header.apiKey), route.versions.contains(header.apiVersion) else {
            if header.apiKey == .apiVersions {
                return ApiVersionsHandler.unsupportedVersionResponse(correlationId: header.correlationId, context: connection)
            }
            throw RequestRejection(
                "unsupported request \(header.apiKey) v\(header.apiVersion) from client \"\(header.clientId ?? "")\""
            )
        }
        guard session.admits(header.apiKey, now: core.clock.nowMilliseconds()) else {
            if case .authenticated = session.phase {
                throw RequestRejection(
                    "\(header.apiKey) after the authentication of \(session.principal) expired (connections.max.reauth.ms)")
            }
            throw RequestRejection("\(header.apiKey) before authentication on listener \(session.listenerName)")
        }
        let context = RequestContext(header: header, connection: connection, authorizer: core.authorizer)
        do {
            return try await route.respond(request.body, context)
        } catch let rejection as RequestRejection {
            throw rejection
        } catch {
            core.logger.error("failed to answer \(header.apiKey) v\(header.apiVersion): \(error)")
            throw RequestRejection("internal error answering \(header.apiKey)")
        }
    }

    /// A SASL token sent as a bare frame after SaslHandshake v0, answered with a bare frame; a
    /// failure closes the connection without an answer, as Kafka does.
    private func authenticateRawToken(_ frame: ByteBuffer, connection: ConnectionContext) async throws(RequestRejection) -> ResponseFrame {
        do throws(SASLFailure) {
            let answer = try await core.authenticator.authenticate(
                token: frame, session: connection.session, peer: connection.peerDescription)
            var body = connection.allocator.buffer(capacity: answer.bytes.count)
            body.writeBytes(answer.bytes)
            return ResponseFrame(body: body)
        } catch {
            throw RequestRejection(error.message)
        }
    }

    public func run() async throws {
        // Transactions a crash left between prepare and complete get their markers now.
        await transactions.start()
        let interval = core.configuration.maintenanceInterval
        let clock = core.clock
        while !Task.isShuttingDownGracefully {
            let deadline = clock.nowMilliseconds() + interval.wholeMilliseconds
            do {
                try await cancelWhenGracefulShutdown { try await clock.sleep(untilMilliseconds: deadline) }
            } catch {
                break
            }
            await runMaintenance()
        }
        try await close()
    }

    /// Retention, compaction, producer state expiry and snapshots, interval flushes and
    /// checkpoints, on the blocking pool.
    func runMaintenance() async {
        let logs = core.logs
        let producerStates = core.producerStates
        let logger = core.logger
        do {
            try await core.blocking.run {
                let deleted = logs.applyRetention()
                if deleted > 0 {
                    logger.info("retention deleted \(deleted) segment(s)")
                }
                _ = logs.compactLogs()
                producerStates.removeExpired(currentLog: { logs.log(for: $0) })
                // Bounds the log a restart after a crash scans to what came after this.
                producerStates.writeSnapshots(currentLog: { logs.log(for: $0) })
                logs.flushDirtyLogs()
                logs.checkpointLogs()
            }
        } catch {
            logger.error("log maintenance failed: \(error)")
        }
    }

    /// Snapshots the producer state, then flushes and closes every log and the metadata log,
    /// leaving the clean-shutdown marker.
    public func close() async throws {
        await transactions.shutdown()
        await groups.shutdown()
        let core = self.core
        try await core.blocking.run {
            // The server has stopped: no append moves a log past its snapshot any more.
            core.producerStates.writeSnapshots(all: true, currentLog: { core.logs.log(for: $0) })
            try core.logs.close()
            try core.topics.close()
        }
        try await core.blocking.shutdown()
        core.logger.info("logs flushed and closed")
    }
}
