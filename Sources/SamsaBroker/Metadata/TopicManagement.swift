import SamsaBinary
import SamsaProtocol
import SamsaStorage

/// The outcome of creating, deleting or growing a topic, as a Kafka error code and message.
public struct TopicChangeResult: Sendable {
    public var errorCode: ErrorCode
    public var errorMessage: String?
    /// The topic as it is after the change (or as it would be, when only validating).
    public var topic: TopicMetadata?

    public static func failure(_ code: ErrorCode, _ message: String) -> Self {
        Self(errorCode: code, errorMessage: message, topic: nil)
    }
}

extension BrokerCore {
    /// Creates a topic with `partitionCount` partitions (-1: the broker default), validating
    /// the name, counts and configs as Kafka does. Blocks on disk: call from ``BlockingWork``.
    ///
    /// The topic is recorded in the metadata log first and its partition logs created after;
    /// a crash in between is repaired at the next start (``reconcileLogs()``).
    public func createTopic(
        name: String, partitionCount requested: Int32, replicationFactor: Int16 = -1,
        configs: [String: String] = [:], validateOnly: Bool = false
    ) throws -> TopicChangeResult {
        if let problem = Self.topicNameProblem(name) {
            return .failure(.invalidTopicException, problem)
        }
        let partitionCount = requested == -1 ? configuration.defaultPartitionCount : requested
        guard partitionCount > 0 else {
            return .failure(.invalidPartitions, "Number of partitions must be larger than 0.")
        }
        guard partitionCount <= 100_000 else {
            return .failure(.invalidPartitions, "Number of partitions \(partitionCount) exceeds the limit of 100000.")
        }
        guard replicationFactor == -1 || replicationFactor == 1 else {
            if replicationFactor <= 0 {
                return .failure(.invalidReplicationFactor, "Replication factor must be larger than 0, or -1 to use the default value.")
            }
            return .failure(.invalidReplicationFactor, "Unable to replicate the partition \(replicationFactor) time(s): The target replication factor of \(replicationFactor) cannot be reached because only 1 broker(s) are registered.")
        }
        if let problem = TopicConfigs.validate(configs) {
            return .failure(.invalidConfig, problem)
        }
        var generator = SystemRandomNumberGenerator()
        let candidate = TopicMetadata(name: name, id: KafkaUUID.random(using: &generator), partitionCount: partitionCount, configs: configs)
        if validateOnly {
            if topics.image.topic(named: name) != nil {
                return .failure(.topicAlreadyExists, "Topic '\(name)' already exists.")
            }
            return TopicChangeResult(errorCode: .noError, errorMessage: nil, topic: candidate)
        }
        var alreadyExisted = false
        let created = try topics.update(named: name) { existing in
            if existing != nil {
                alreadyExisted = true
                return nil
            }
            return candidate
        }
        if alreadyExisted {
            return .failure(.topicAlreadyExists, "Topic '\(name)' already exists.")
        }
        let config = logConfig(for: name)
        for partition in 0..<partitionCount {
            _ = try logs.createLog(for: TopicPartition(topic: name, partition: partition), config: config)
        }
        logger.info("created topic", metadata: ["topic": "\(name)", "partitions": "\(partitionCount)", "id": "\(candidate.id)"])
        return TopicChangeResult(errorCode: .noError, errorMessage: nil, topic: created)
    }

    /// Deletes a topic: removed from the metadata first, then its logs, so a crash in between
    /// leaves only orphan logs that the next start deletes.
    public func deleteTopic(named name: String) throws -> TopicChangeResult {
        guard let topic = topics.image.topic(named: name) else {
            return .failure(.unknownTopicOrPartition, "This server does not host this topic-partition.")
        }
        try topics.remove(named: name)
        try logs.deleteTopic(name)
        logger.info("deleted topic", metadata: ["topic": "\(name)"])
        return TopicChangeResult(errorCode: .noError, errorMessage: nil, topic: topic)
    }

    /// Makes the logs match the metadata after a crash: creates missing partition logs and
    /// deletes logs of topics that no longer exist.
    func reconcileLogs() throws {
        let image = topics.image
        var orphanTopics = Set<String>()
        for partition in logs.partitions {
            guard let topic = image.topic(named: partition.topic), partition.partition < topic.partitionCount else {
                orphanTopics.insert(partition.topic)
                continue
            }
        }
        for name in orphanTopics.sorted() where image.topic(named: name) == nil {
            logger.warning("deleting the logs of a topic that no longer exists", metadata: ["topic": "\(name)"])
            try logs.deleteTopic(name)
        }
        for topic in image.topics {
            for partition in 0..<topic.partitionCount {
                let topicPartition = TopicPartition(topic: topic.name, partition: partition)
                if logs.log(for: topicPartition) == nil {
                    _ = try logs.createLog(for: topicPartition, config: logConfig(for: topic.name))
                }
            }
        }
    }

    /// Why `name` cannot be a topic name, in Kafka's words, or nil if it can.
    static func topicNameProblem(_ name: String) -> String? {
        if name.isEmpty { return "Topic name is illegal, it can't be empty" }
        if name == "." || name == ".." { return "Topic name cannot be \".\" or \"..\"" }
        if name.utf8.count > 249 {
            return "Topic name is illegal, it can't be longer than 249 characters, topic name: \(name)"
        }
        if !TopicPartition.isValidTopicName(name) {
            return "Topic name \"\(name)\" is illegal, it contains a character other than ASCII alphanumerics, '.', '_' and '-'"
        }
        if name == TopicRegistry.directoryName {
            return "Topic name \"\(name)\" is reserved"
        }
        return nil
    }
}
