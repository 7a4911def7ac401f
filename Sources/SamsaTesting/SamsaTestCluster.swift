#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Logging
import NIOCore
import SamsaBroker
import SamsaCoordination
import SamsaProtocol
import SamsaStorage
import ServiceLifecycle

/// A real Kafka-compatible broker inside the test process, on a free loopback port: what an
/// application's tests point their Kafka client at (as franz-go's users do with kfake).
///
/// ```swift
/// @Test func ordersArePublished() async throws {
///     try await SamsaTestCluster.with { cluster in
///         let app = OrderService(bootstrapServers: cluster.bootstrapServers)
///         try await app.placeOrder(id: 42)
///         #expect(cluster.topicNames.contains("orders"))
///     }
/// }
/// ```
///
/// The cluster keeps its data in memory by default (``Storage/inMemory(_:)``), or in a fresh
/// temporary directory removed at ``stop()``. Give it a ``ManualClock`` to drive sessions,
/// rebalances, retention and long polls without waiting. Interceptors
/// (``intercept(_:times:_:)``, ``failNext(_:with:times:)``) observe, delay, fail or drop requests
/// per API key to test how a client copes with leader moves and coordinator errors.
public final class SamsaTestCluster: Sendable {
    /// Where the broker keeps its logs.
    public enum Storage: Sendable {
        /// An in-memory file system; pass one to share it across restarts of a cluster.
        case inMemory(InMemoryFileSystem = InMemoryFileSystem())
        /// A new temporary directory on disk, removed when the cluster stops.
        case temporaryDirectory
        /// This file system and data directory, kept after the cluster stops.
        case fileSystem(any FileSystem, dataDirectory: String)
    }

    /// How to start a cluster.
    public struct Options: Sendable {
        /// Where the logs live (in memory by default).
        public var storage: Storage = .inMemory()
        /// The clock of the broker; nil for the system clock.
        public var clock: ManualClock?
        /// The seed of the broker's randomness (member ids, topic ids, cluster id); nil for a
        /// seed from `SAMSA_TEST_SEED` or a fresh one. The seed used is ``SamsaTestCluster/seed``.
        public var seed: UInt64?
        /// The least severe broker log message printed (warnings by default).
        public var logLevel: Logger.Level = .warning
        /// The broker configuration (default partition count, group timeouts, retention...).
        /// The cluster sets the listener (127.0.0.1, a free port) and, unless ``storage`` is
        /// ``Storage/fileSystem(_:dataDirectory:)``, the data directory.
        public var configuration = BrokerConfiguration()
        /// The port to listen on; nil for a free one. Give a stopped cluster's ``SamsaTestCluster/port``
        /// to restart it where clients already point.
        public var port: Int?

        /// Default options: in memory, system clock, random seed.
        public init() {}
    }

    /// The broker, for assertions on its state.
    public let broker: Broker
    /// The address the broker listens on.
    public let address: SocketAddress
    /// The seed of the broker's randomness.
    public let seed: UInt64
    /// The clock given in the options, if any.
    public let clock: ManualClock?
    private let processor: InterceptingProcessor
    private let serviceGroup: ServiceGroup
    private let running: Task<Void, any Error>
    private let temporaryDirectory: String?

    /// `host:port` of the broker, the bootstrap servers of a client.
    public var bootstrapServers: String { "127.0.0.1:\(address.port ?? 0)" }

    /// The port the broker listens on.
    public var port: Int { address.port ?? 0 }

    private init(
        broker: Broker, address: SocketAddress, seed: UInt64, clock: ManualClock?, processor: InterceptingProcessor,
        serviceGroup: ServiceGroup, running: Task<Void, any Error>, temporaryDirectory: String?
    ) {
        self.broker = broker
        self.address = address
        self.seed = seed
        self.clock = clock
        self.processor = processor
        self.serviceGroup = serviceGroup
        self.running = running
        self.temporaryDirectory = temporaryDirectory
    }

    /// Starts a broker on a free loopback port and returns once it accepts connections.
    public static func start(_ options: Options = Options()) async throws -> SamsaTestCluster {
        var configuration = options.configuration
        configuration.listenHost = "127.0.0.1"
        configuration.listenPort = options.port ?? 0

        let fileSystem: any FileSystem
        var temporaryDirectory: String?
        switch options.storage {
        case .inMemory(let memory):
            fileSystem = memory
            configuration.dataDirectory = "/samsa-data"
        case .temporaryDirectory:
            let directory = try makeTemporaryDirectory()
            temporaryDirectory = directory
            fileSystem = PosixFileSystem()
            configuration.dataDirectory = directory
        case .fileSystem(let given, let dataDirectory):
            fileSystem = given
            configuration.dataDirectory = dataDirectory
        }
        let seed = options.seed ?? TestSeed.fromEnvironment()
        var logger = Logger(label: "samsa.test-cluster")
        logger.logLevel = options.logLevel
        let broker = try Broker(
            configuration: configuration, fileSystem: fileSystem, clock: options.clock ?? SystemClock(),
            random: SeededRandomSource(seed: seed), logger: logger
        )
        let processor = InterceptingProcessor(broker: broker)
        // One server per listener (the first is the address tests connect to), with the
        // broker's security and connection settings.
        let servers = try broker.makeServers(processor: processor, logger: logger)
        let server = servers[0].server
        // Services stop in reverse order: the servers stop taking requests before the logs close.
        let serviceGroup = ServiceGroup(services: [broker] + servers.map(\.server), logger: logger)
        let running = Task { try await serviceGroup.run() }
        let address: SocketAddress
        do {
            address = try await server.boundAddress
        } catch {
            await serviceGroup.triggerGracefulShutdown()
            _ = try? await running.value
            if let temporaryDirectory { removeDirectory(temporaryDirectory) }
            throw error
        }
        for (listener, listening) in servers {
            guard let bound = listening === server ? address : try? await listening.boundAddress else { continue }
            broker.serverBound(listener: listener, to: bound)
        }
        return SamsaTestCluster(
            broker: broker, address: address, seed: seed, clock: options.clock, processor: processor,
            serviceGroup: serviceGroup, running: running, temporaryDirectory: temporaryDirectory
        )
    }

    /// Runs `body` with a started cluster and stops it afterwards, also when `body` throws.
    public static func with<Result: Sendable>(
        _ options: Options = Options(), _ body: (SamsaTestCluster) async throws -> Result
    ) async throws -> Result {
        let cluster = try await start(options)
        let result: Result
        do {
            result = try await body(cluster)
        } catch {
            try? await cluster.stop()
            throw error
        }
        try await cluster.stop()
        return result
    }

    /// Stops the broker gracefully: in-flight requests finish, every log is flushed and closed
    /// (so another cluster can open the same storage), and a temporary directory is removed.
    public func stop() async throws {
        await serviceGroup.triggerGracefulShutdown()
        defer { if let temporaryDirectory { Self.removeDirectory(temporaryDirectory) } }
        try await running.value
    }

    // MARK: Inspecting and preparing the broker

    /// The names of the topics that exist now (internal ones included), sorted.
    public var topicNames: [String] {
        broker.core.topics.image.topics.map(\.name)
    }

    /// The number of partitions of `topic`, or nil when it does not exist.
    public func partitionCount(of topic: String) -> Int? {
        broker.core.topics.image.topic(named: topic).map { Int($0.partitionCount) }
    }

    /// Creates `topic` as CreateTopics would (`configs` with Kafka's topic config names).
    ///
    /// - Throws: ``TopicCreationError`` with Kafka's error code when the broker refuses.
    public func createTopic(_ topic: String, partitions: Int = 1, configs: [String: String] = [:]) async throws {
        let core = broker.core
        let result = try await core.blocking.run {
            try core.createTopic(name: topic, partitionCount: Int32(partitions), configs: configs)
        }
        guard result.errorCode == .noError else {
            throw TopicCreationError(topic: topic, errorCode: result.errorCode, message: result.errorMessage)
        }
    }

    /// The offset the next record appended to `topic`-`partition` gets, or nil when the
    /// partition does not exist.
    public func endOffset(topic: String, partition: Int = 0) -> Int64? {
        broker.core.logs.log(for: TopicPartition(topic: topic, partition: Int32(partition)))?.logEndOffset
    }

    /// The offset `group` committed for `topic`-`partition`, or nil when it committed none.
    public func committedOffset(group: String, topic: String, partition: Int = 0) async -> Int64? {
        let key = TopicPartition(topic: topic, partition: Int32(partition))
        return await broker.groups.fetchOffsets(groupId: group, partitions: [key])[key]?.offset
    }

    // MARK: Interception

    /// Gives every request with `apiKey` to `handler` (at most `times` requests; nil for all),
    /// which decides what happens to it. The handler may suspend, which delays the request
    /// (and, as the broker answers a connection's requests in order, those behind it).
    @discardableResult
    public func intercept(
        _ apiKey: ApiKey, times: Int? = nil, _ handler: @escaping @Sendable (InterceptedRequest) async -> InterceptionAction
    ) -> Interception {
        let interception = Interception(apiKey: apiKey, times: times, handler: handler)
        processor.add(interception)
        return interception
    }

    /// Calls `observer` with every request with `apiKey`, which the broker then answers.
    @discardableResult
    public func observe(_ apiKey: ApiKey, _ observer: @escaping @Sendable (InterceptedRequest) -> Void) -> Interception {
        intercept(apiKey) { request in
            observer(request)
            return .pass
        }
    }

    /// Answers the next `times` requests with `apiKey` with `error` for everything they name.
    ///
    /// - Throws: ``InterceptionError/errorResponseUnsupported(_:)`` for an API whose error
    ///   response the cluster cannot build; use ``intercept(_:times:_:)`` with `.respond` then.
    @discardableResult
    public func failNext(_ apiKey: ApiKey, with error: ErrorCode, times: Int = 1) throws(InterceptionError) -> Interception {
        guard ErrorResponses.supportedKeys.contains(apiKey) else { throw .errorResponseUnsupported(apiKey) }
        return intercept(apiKey, times: times) { _ in .fail(error) }
    }

    /// Holds the next `times` requests with `apiKey` until `release` returns, then lets the
    /// broker answer them.
    @discardableResult
    public func delayNext(
        _ apiKey: ApiKey, times: Int = 1, until release: @escaping @Sendable () async -> Void
    ) -> Interception {
        intercept(apiKey, times: times) { _ in
            await release()
            return .pass
        }
    }

    /// Closes the connection of the next `times` requests with `apiKey` instead of answering.
    @discardableResult
    public func dropConnectionOnNext(_ apiKey: ApiKey, times: Int = 1) -> Interception {
        intercept(apiKey, times: times) { _ in .dropConnection }
    }

    // MARK: Temporary directories

    private static func makeTemporaryDirectory() throws -> String {
        var template = Array("/tmp/samsa-test-XXXXXX".utf8CString)
        guard let made = template.withUnsafeMutableBufferPointer({ mkdtemp($0.baseAddress!) }) else {
            throw StorageError.io("mkdtemp", path: "/tmp/samsa-test-XXXXXX", errno: errno)
        }
        return String(cString: made)
    }

    private static func removeDirectory(_ path: String) {
        try? PosixFileSystem().removeDirectory(at: path)
    }
}

/// The broker refused to create a topic.
public struct TopicCreationError: Error, Sendable, CustomStringConvertible {
    /// The topic.
    public let topic: String
    /// Kafka's error code, such as `.topicAlreadyExists` or `.invalidPartitions`.
    public let errorCode: ErrorCode
    /// The broker's message, if any.
    public let message: String?

    public var description: String { "cannot create topic \(topic): \(errorCode)\(message.map { " (\($0))" } ?? "")" }
}

/// Why an interceptor could not be registered.
public enum InterceptionError: Error, Sendable, Equatable {
    /// The cluster cannot build an error response for this API.
    case errorResponseUnsupported(ApiKey)
}
