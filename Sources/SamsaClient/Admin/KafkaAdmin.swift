import Logging
import NIOCore
import SamsaCoordination
import SamsaProtocol

/// Administers a Kafka-compatible cluster: topics, configs, consumer groups and their
/// offsets, records, and the cluster itself.
///
/// ```swift
/// let admin = KafkaAdmin(configuration: try ClientConfiguration(bootstrapServers: "localhost:9092"))
/// try await admin.createTopic(NewTopic(name: "payments", partitions: 6, configs: ["retention.ms": "86400000"]))
/// let lag = try await admin.lag(group: "billing")
/// await admin.close()
/// ```
public final class KafkaAdmin: Sendable {
    public let configuration: ClientConfiguration
    let cluster: ClusterClient

    public init(configuration: ClientConfiguration, logger: Logger = Logger(label: "samsa.admin")) {
        self.configuration = configuration
        self.cluster = ClusterClient(configuration: configuration, logger: logger)
    }

    /// Closes the connections.
    public func close() async {
        await cluster.close()
    }

    /// Admin requests that change topics go to the controller (brokers of KRaft clusters
    /// forward them anyway), else to any broker.
    private func controller() async throws -> BrokerConnection {
        let metadata = try await cluster.refreshMetadata(topics: [])
        if metadata.controllerId >= 0, metadata.brokers[metadata.controllerId] != nil {
            return try await cluster.connection(to: metadata.controllerId)
        }
        return try await cluster.anyConnection()
    }

    // MARK: Cluster

    /// The cluster's id, controller and brokers.
    public func describeCluster() async throws -> ClusterDescription {
        let metadata = try await cluster.refreshMetadata(topics: [])
        return ClusterDescription(
            clusterId: metadata.clusterId, controllerId: metadata.controllerId,
            brokers: metadata.brokers.map { ClusterDescription.Broker(nodeId: $0.key, address: $0.value) }.sorted { $0.nodeId < $1.nodeId })
    }

    /// The APIs a broker serves (from its ApiVersions answer): name, key and version range.
    public func apiVersions() async throws -> [(name: String, apiKey: Int16, versions: ClosedRange<Int16>)] {
        let connection = try await cluster.anyConnection()
        return connection.versions.all.map { entry in
            ("\(ApiKey(rawValue: entry.apiKey))", entry.apiKey, entry.versions)
        }
    }

    /// The features of a broker (`transaction.version`, ...): the levels it supports and the
    /// levels the cluster is finalized at (KIP-584), from its ApiVersions answer. Empty for a
    /// broker older than ApiVersions v3.
    public func features() async throws -> BrokerFeatures {
        try await cluster.anyConnection().features
    }

    // MARK: Topics

    /// The topics' names (internal ones only with `includeInternal`).
    public func listTopics(includeInternal: Bool = false) async throws -> [String] {
        let metadata = try await cluster.refreshMetadata(topics: nil)
        return metadata.topics.values.filter { includeInternal || !$0.isInternal }.map(\.name).sorted()
    }

    /// Topics with their partitions and leaders; UNKNOWN_TOPIC_OR_PARTITION for a missing one.
    public func describeTopics(_ names: [String]) async throws -> [ClusterMetadata.Topic] {
        let metadata = try await cluster.refreshMetadata(topics: names)
        return try names.map { name in
            guard let topic = metadata.topics[name] else { throw KafkaError(.unknownTopicOrPartition, topic: name) }
            guard topic.error == .noError else { throw KafkaError(topic.error, topic: name) }
            return topic
        }
    }

    /// Creates topics. If some cannot be created, the others still are, and the error names the
    /// first that failed, its message every failure.
    public func createTopics(_ topics: [NewTopic], validateOnly: Bool = false) async throws {
        var request = CreateTopicsRequest()
        request.timeoutMs = Int32(clamping: configuration.requestTimeoutMs)
        request.validateOnly = validateOnly
        request.topics = topics.map { topic in
            var entry = CreateTopicsRequest.CreatableTopic()
            entry.name = topic.name
            entry.numPartitions = topic.partitions
            entry.replicationFactor = topic.replicationFactor
            entry.configs = topic.configs.sorted { $0.key < $1.key }.map { name, value in
                var config = CreateTopicsRequest.CreatableTopicConfig()
                config.name = name
                config.value = value
                return config
            }
            return entry
        }
        let results = try await askController(for: topics.map(\.name)) { names, connection in
            var subset = request
            subset.topics = request.topics.filter { names.contains($0.name) }
            return try await connection.send(subset).topics.map { ($0.name, ErrorCode(rawValue: $0.errorCode), $0.errorMessage) }
        }
        try Self.throwFailures(results)
    }

    /// Creates one topic.
    public func createTopic(_ topic: NewTopic) async throws {
        try await createTopics([topic])
    }

    /// Deletes topics.
    public func deleteTopics(_ names: [String]) async throws {
        var request = DeleteTopicsRequest()
        request.timeoutMs = Int32(clamping: configuration.requestTimeoutMs)
        request.topicNames = names
        request.topics = names.map { name in
            var entry = DeleteTopicsRequest.DeleteTopicState()
            entry.name = name
            return entry
        }
        let results = try await askController(for: names) { names, connection in
            var subset = request
            subset.topicNames = names
            subset.topics = request.topics.filter { names.contains($0.name ?? "") }
            return try await connection.send(subset).responses.map { ($0.name ?? "", ErrorCode(rawValue: $0.errorCode), $0.errorMessage) }
        }
        try Self.throwFailures(results)
    }

    /// Grows a topic to `totalCount` partitions.
    public func createPartitions(topic: String, totalCount: Int32) async throws {
        var request = CreatePartitionsRequest()
        request.timeoutMs = Int32(clamping: configuration.requestTimeoutMs)
        var entry = CreatePartitionsRequest.CreatePartitionsTopic()
        entry.name = topic
        entry.count = totalCount
        entry.assignments = nil
        request.topics = [entry]
        let results = try await askController(for: [topic]) { _, connection in
            try await connection.send(request).results.map { ($0.name, ErrorCode(rawValue: $0.errorCode), $0.errorMessage) }
        }
        try Self.throwFailures(results)
    }

    /// Sends a per-topic request for `names` to the controller, and again for the topics
    /// answered NOT_CONTROLLER (the controller moved: the metadata is asked again first) or
    /// all of them after a lost connection, up to 4 times with backoff. The cached metadata is
    /// forgotten afterwards, as topics changed. Returns each topic's last answer.
    private func askController(
        for names: [String],
        _ send: ([String], BrokerConnection) async throws -> [(name: String, code: ErrorCode, message: String?)]
    ) async throws -> [(name: String, code: ErrorCode, message: String?)] {
        var results: [String: (name: String, code: ErrorCode, message: String?)] = [:]
        var remaining = names
        var attempt = 0
        while true {
            do {
                for result in try await send(remaining, try await controller()) { results[result.name] = result }
                remaining = remaining.filter { results[$0]?.code == .notController }
            } catch let error as SamsaClientError where attempt + 1 < 4 && error.isRetriable {
                cluster.logger.debug("retrying a controller request", metadata: ["error": "\(error)"])
            } catch {
                await cluster.invalidateMetadata()
                throw error
            }
            await cluster.invalidateMetadata()
            if remaining.isEmpty || attempt + 1 >= 4 { break }
            try await Task.sleep(for: .milliseconds(configuration.backoffMs(attempt: attempt, random: 0.5)))
            attempt += 1
        }
        return names.compactMap { results[$0] }
    }

    /// Throws the first failure among per-topic answers, its message listing every failure.
    private static func throwFailures(_ results: [(name: String, code: ErrorCode, message: String?)]) throws {
        let failures = results.filter { $0.code != .noError }
        guard let first = failures.first else { return }
        let message =
            failures.count == 1
            ? first.message
            : failures.map { "\($0.name): \($0.code.name)" + ($0.message.map { " (\($0))" } ?? "") }.joined(separator: "; ")
        throw KafkaError(first.code, message: message, topic: first.name)
    }

    // MARK: Configs

    /// A topic's configs: name → (value, whether it is the default).
    public func describeTopicConfigs(_ topic: String) async throws -> [String: ConfigValue] {
        var request = DescribeConfigsRequest()
        var resource = DescribeConfigsRequest.DescribeConfigsResource()
        resource.resourceType = 2
        resource.resourceName = topic
        resource.configurationKeys = nil
        request.resources = [resource]
        let response = try await cluster.anyConnection().send(request)
        guard let result = response.results.first else { return [:] }
        guard result.errorCode == 0 else {
            throw KafkaError(ErrorCode(rawValue: result.errorCode), message: result.errorMessage, topic: topic)
        }
        var configs: [String: ConfigValue] = [:]
        for config in result.configs {
            configs[config.name] = ConfigValue(
                value: config.value, isDefault: config.isDefault || config.configSource == 5, isReadOnly: config.readOnly)
        }
        return configs
    }

    /// Sets (a value) or deletes (nil, back to the default) topic configs.
    public func alterTopicConfigs(_ topic: String, _ changes: [String: String?]) async throws {
        var request = IncrementalAlterConfigsRequest()
        var resource = IncrementalAlterConfigsRequest.AlterConfigsResource()
        resource.resourceType = 2
        resource.resourceName = topic
        resource.configs = changes.sorted { $0.key < $1.key }.map { name, value in
            var config = IncrementalAlterConfigsRequest.AlterableConfig()
            config.name = name
            config.configOperation = value == nil ? 1 : 0
            config.value = value
            return config
        }
        request.resources = [resource]
        let response = try await cluster.anyConnection().send(request)
        for result in response.responses where result.errorCode != 0 {
            throw KafkaError(ErrorCode(rawValue: result.errorCode), message: result.errorMessage, topic: topic)
        }
    }

    // MARK: Offsets and lag

    /// The earliest, latest or at-time offset of each partition (see ``OffsetSpec``).
    public func listOffsets(
        _ specs: [TopicPartition: OffsetSpec], isolation: IsolationLevel = .readUncommitted
    ) async throws
        -> [TopicPartition: Int64]
    {
        var timestamps: [TopicPartition: Int64] = [:]
        var result: [TopicPartition: Int64] = [:]
        for (partition, spec) in specs {
            switch spec {
            case .earliest: timestamps[partition] = -2
            case .latest: timestamps[partition] = -1
            case .timestamp(let time): timestamps[partition] = time
            case .offset(let offset): result[partition] = offset
            }
        }
        for (partition, offset) in try await PartitionOffsets.list(timestamps, isolation: isolation, cluster: cluster) {
            result[partition] = offset
        }
        return result
    }

    /// A group's lag per partition it committed: committed offset, end offset and their
    /// difference.
    public func lag(group groupId: String) async throws -> [TopicPartition: PartitionLag] {
        let committed = try await groupOffsets(groupId)
        guard !committed.isEmpty else { return [:] }
        let ends = try await listOffsets(committed.mapValues { _ in .latest })
        var result: [TopicPartition: PartitionLag] = [:]
        for (partition, offset) in committed {
            let end = ends[partition] ?? offset
            result[partition] = PartitionLag(committed: offset, end: end, lag: max(0, end - offset))
        }
        return result
    }

    // MARK: Records

    /// Deletes the records before these offsets; returns each partition's new start offset.
    public func deleteRecords(before offsets: [TopicPartition: Int64]) async throws -> [TopicPartition: Int64] {
        // Deleting again before the same offsets changes nothing, so a retry may repeat leaders
        // that answered already.
        try await cluster.retryingWithFreshMetadata { try await deleteRecordsOnce(before: offsets) }
    }

    private func deleteRecordsOnce(before offsets: [TopicPartition: Int64]) async throws -> [TopicPartition: Int64] {
        let metadata = try await cluster.metadata(for: Array(Set(offsets.keys.map(\.topic))))
        let byLeader = try metadata.byLeader(offsets.keys)
        var result: [TopicPartition: Int64] = [:]
        for (leader, partitions) in byLeader {
            var request = DeleteRecordsRequest()
            request.timeoutMs = Int32(clamping: configuration.requestTimeoutMs)
            request.topics = partitions.byTopic().map { topic, indexes in
                var entry = DeleteRecordsRequest.DeleteRecordsTopic()
                entry.name = topic
                entry.partitions = indexes.map { index in
                    var item = DeleteRecordsRequest.DeleteRecordsPartition()
                    item.partitionIndex = index
                    item.offset = offsets[TopicPartition(topic, index)]!
                    return item
                }
                return entry
            }
            let response = try await cluster.connection(to: leader).send(request)
            for topic in response.topics {
                for partition in topic.partitions {
                    guard partition.errorCode == 0 else {
                        throw KafkaError(ErrorCode(rawValue: partition.errorCode), topic: topic.name, partition: partition.partitionIndex)
                    }
                    result[TopicPartition(topic.name, partition.partitionIndex)] = partition.lowWatermark
                }
            }
        }
        return result
    }
}

/// A topic to create.
public struct NewTopic: Sendable {
    public var name: String
    public var partitions: Int32
    /// -1 for the broker's default.
    public var replicationFactor: Int16
    public var configs: [String: String]

    public init(name: String, partitions: Int32 = -1, replicationFactor: Int16 = -1, configs: [String: String] = [:]) {
        self.name = name
        self.partitions = partitions
        self.replicationFactor = replicationFactor
        self.configs = configs
    }
}

/// A config's value as a broker describes it.
public struct ConfigValue: Hashable, Sendable {
    public var value: String?
    public var isDefault: Bool
    public var isReadOnly: Bool
}

/// The cluster as DescribeCluster/Metadata describe it.
public struct ClusterDescription: Sendable {
    public struct Broker: Hashable, Sendable {
        public var nodeId: Int32
        public var address: BrokerAddress
    }

    public var clusterId: String?
    public var controllerId: Int32
    public var brokers: [Broker]
}
