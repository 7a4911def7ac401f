import Logging
import NIOConcurrencyHelpers
import NIOCore
import SamsaProtocol

/// The connections and metadata a client keeps for one cluster, shared by its producer,
/// consumer and admin parts: one connection per broker (opened on first use, opened again
/// after it closes), the metadata cache, and the group and transaction coordinators found.
actor ClusterClient {
    let configuration: ClientConfiguration
    let logger: Logger
    private var connections: [Int32: Task<BrokerConnection, any Error>] = [:]
    private var bootstrap: Task<BrokerConnection, any Error>?
    private var coordinators: [CoordinatorKey: Int32] = [:]
    /// When each topic's metadata was last fetched, and when every topic's was (a refresh of
    /// no topics, which only learns the brokers, makes no topic fresh).
    private var topicsFetchedAt: [String: ContinuousClock.Instant] = [:]
    private var everyTopicFetchedAt: ContinuousClock.Instant?
    private var closed = false
    /// The latest metadata, readable without a hop onto the actor (the producer's partitioner
    /// reads it per record).
    nonisolated let snapshot = NIOLockedValueBox(ClusterMetadata())

    struct CoordinatorKey: Hashable {
        var key: String
        /// 0 for a group, 1 for a transactional id.
        var type: Int8
    }

    init(configuration: ClientConfiguration, logger: Logger) {
        self.configuration = configuration
        self.logger = logger
    }

    var metadata: ClusterMetadata { snapshot.withLockedValue { $0 } }

    // MARK: Connections

    /// The connection to `nodeId`, opened if needed.
    func connection(to nodeId: Int32) async throws -> BrokerConnection {
        guard !closed else { throw SamsaClientError.closed }
        if let existing = connections[nodeId] {
            if let connection = try? await existing.value, connection.isActive { return try await unlessClosed(connection) }
            if connections[nodeId] == existing { connections[nodeId] = nil }
        }
        guard let address = metadata.brokers[nodeId] else {
            _ = try await refreshMetadata(topics: [])
            guard metadata.brokers[nodeId] != nil else {
                throw SamsaClientError.noBrokerAvailable(tried: ["node \(nodeId)"], lastError: "not in the cluster's metadata")
            }
            return try await connection(to: nodeId)
        }
        let task = open(nodeId: nodeId, address: address)
        connections[nodeId] = task
        do {
            return try await unlessClosed(try await task.value)
        } catch {
            if connections[nodeId] == task { connections[nodeId] = nil }
            throw error
        }
    }

    /// A connection to any broker: a known one if possible, else the bootstrap servers in turn.
    func anyConnection() async throws -> BrokerConnection {
        guard !closed else { throw SamsaClientError.closed }
        for task in connections.values {
            if let connection = try? await task.value, connection.isActive { return try await unlessClosed(connection) }
        }
        if let bootstrap, let connection = try? await bootstrap.value, connection.isActive { return try await unlessClosed(connection) }
        var lastError: (any Error)?
        for address in configuration.bootstrapServers {
            let task = open(nodeId: -1, address: address)
            do {
                let connection = try await unlessClosed(try await task.value)
                bootstrap = task
                return connection
            } catch SamsaClientError.closed {
                throw SamsaClientError.closed
            } catch {
                lastError = error
                logger.debug("could not connect to a bootstrap server", metadata: ["broker": "\(address)", "error": "\(error)"])
            }
        }
        throw SamsaClientError.noBrokerAvailable(
            tried: configuration.bootstrapServers.map(\.description), lastError: lastError.map { "\($0)" })
    }

    /// `connection`, unless the client closed while it was being opened or awaited: then it is
    /// closed too (``close()`` could not see it) and nothing more is sent.
    private func unlessClosed(_ connection: BrokerConnection) async throws -> BrokerConnection {
        guard closed else { return connection }
        await connection.close()
        throw SamsaClientError.closed
    }

    private func open(nodeId: Int32, address: BrokerAddress) -> Task<BrokerConnection, any Error> {
        let configuration = self.configuration
        return Task {
            try await BrokerConnection.connect(
                nodeId: nodeId, address: address, clientId: configuration.clientId,
                connectTimeout: .milliseconds(configuration.connectTimeoutMs),
                requestTimeout: .milliseconds(configuration.requestTimeoutMs),
                maxResponseBytes: configuration.maxResponseBytes, security: configuration.security)
        }
    }

    // MARK: Metadata

    /// Asks a broker for the metadata of `topics` (nil: every topic), creating missing ones if
    /// `autoCreate` and the broker allows it, and merges the answer into the cache.
    @discardableResult
    func refreshMetadata(topics: [String]?, autoCreate: Bool = false) async throws -> ClusterMetadata {
        let connection = try await anyConnection()
        var request = MetadataRequest()
        request.topics = topics.map { names in
            names.map { name in
                var topic = MetadataRequest.MetadataRequestTopic()
                topic.name = name
                return topic
            }
        }
        request.allowAutoTopicCreation = autoCreate
        let response = try await connection.send(request)
        let fresh = ClusterMetadata(response)
        snapshot.withLockedValue { cached in
            if topics == nil {
                cached = fresh
            } else {
                cached.merge(fresh)
            }
        }
        let now = ContinuousClock.now
        if let topics {
            for name in topics { topicsFetchedAt[name] = now }
        } else {
            everyTopicFetchedAt = now
            topicsFetchedAt = [:]
        }
        return metadata
    }

    /// The metadata, refreshed first when a topic of `topics` is unknown or has a partition
    /// without a leader, or when the cache is older than `metadata.max.age.ms`.
    func metadata(for topics: [String], autoCreate: Bool = false) async throws -> ClusterMetadata {
        let current = metadata
        let now = ContinuousClock.now
        let maxAge = Duration.milliseconds(configuration.metadataMaxAgeMs)
        let stale = topics.contains { name in
            guard let fetched = [topicsFetchedAt[name], everyTopicFetchedAt].compactMap({ $0 }).max() else { return true }
            return now - fetched > maxAge
        }
        let incomplete = topics.contains { name in
            guard let topic = current.topics[name], topic.error == .noError else { return true }
            return topic.partitions.contains { $0.leader < 0 }
        }
        guard stale || incomplete else { return current }
        return try await refreshMetadata(topics: topics, autoCreate: autoCreate)
    }

    /// Forgets the cached leaders so the next ``metadata(for:autoCreate:)`` asks again (after
    /// NOT_LEADER_OR_FOLLOWER, UNKNOWN_TOPIC_OR_PARTITION, FENCED_LEADER_EPOCH...).
    func invalidateMetadata() {
        topicsFetchedAt = [:]
        everyTopicFetchedAt = nil
    }

    /// Runs `body`, and again after an error saying the cached metadata is wrong (a leader or
    /// the controller moved, a partition was added; the codes in `retrying`) or a lost
    /// connection, with the metadata refreshed in between: up to `attempts` times, with backoff,
    /// as Kafka's admin client retries these.
    func retryingWithFreshMetadata<Result: Sendable>(
        _ retrying: Set<ErrorCode> = ClusterClient.staleLeaderErrors, attempts: Int = 4, _ body: () async throws -> Result
    ) async throws -> Result {
        try await configuration.retrying(
            attempts: attempts, logger: logger, "with fresh metadata", when: { retrying.contains($0.code) },
            beforeRetry: { invalidateMetadata() }, body)
    }

    /// Errors that mean a partition's cached leader is wrong or the partition is new.
    static let staleLeaderErrors: Set<ErrorCode> = [
        .notLeaderOrFollower, .leaderNotAvailable, .unknownTopicOrPartition, .fencedLeaderEpoch, .unknownLeaderEpoch,
    ]

    // MARK: Coordinators

    /// The connection to the coordinator of a group (`type` 0) or transactional id (1).
    func coordinator(for key: String, type: Int8) async throws -> BrokerConnection {
        let cacheKey = CoordinatorKey(key: key, type: type)
        if let nodeId = coordinators[cacheKey] {
            return try await connection(to: nodeId)
        }
        let connection = try await anyConnection()
        var request = FindCoordinatorRequest()
        request.key = key
        request.keyType = type
        request.coordinatorKeys = [key]
        let response = try await connection.send(request)
        let nodeId: Int32
        let host: String
        let port: Int32
        let code: ErrorCode
        let message: String?
        if let entry = response.coordinators.first {
            (nodeId, host, port, code, message) = (
                entry.nodeId, entry.host, entry.port, ErrorCode(rawValue: entry.errorCode), entry.errorMessage
            )
        } else {
            (nodeId, host, port, code, message) = (
                response.nodeId, response.host, response.port, ErrorCode(rawValue: response.errorCode), response.errorMessage
            )
        }
        guard code == .noError else { throw KafkaError(code, message: message) }
        snapshot.withLockedValue { $0.brokers[nodeId] = $0.brokers[nodeId] ?? BrokerAddress(host: host, port: Int(port)) }
        coordinators[cacheKey] = nodeId
        return try await self.connection(to: nodeId)
    }

    /// Forgets a coordinator (after NOT_COORDINATOR or COORDINATOR_NOT_AVAILABLE).
    func invalidateCoordinator(for key: String, type: Int8) {
        coordinators[CoordinatorKey(key: key, type: type)] = nil
    }

    // MARK: Closing

    /// Closes every connection.
    func close() async {
        closed = true
        let tasks = Array(connections.values) + (bootstrap.map { [$0] } ?? [])
        connections = [:]
        bootstrap = nil
        for task in tasks {
            if let connection = try? await task.value { await connection.close() }
        }
    }
}
