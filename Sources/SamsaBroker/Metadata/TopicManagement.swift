import Logging
import SamsaBinary
import SamsaProtocol
import SamsaStorage

/// The outcome of creating, deleting or growing a topic, as a Kafka error code and message.
package struct TopicChangeResult: Sendable {
    package var errorCode: ErrorCode
    package var errorMessage: String?
    /// The topic as it is after the change (or as it would be, when only validating).
    package var topic: TopicMetadata?

    package static func failure(_ code: ErrorCode, _ message: String) -> Self {
        Self(errorCode: code, errorMessage: message, topic: nil)
    }
}

extension BrokerCore {
    /// Creates a topic, validating it as Kafka's controller does and in its order: the name
    /// (and names that collide once '.' and '_' are unified), an existing topic, the configs,
    /// then the manual assignments or the partition count and replication factor (-1: the
    /// broker defaults). Blocks on disk: call from ``BlockingWork``.
    ///
    /// `assignments` are Kafka's manual replica assignments, by partition; on this single
    /// broker each must be exactly `[nodeID]`. The topic is recorded in the metadata log first
    /// and its partition logs created after; a crash in between is repaired at the next start
    /// (``reconcileLogs()``).
    package func createTopic(
        name: String, partitionCount requested: Int32, replicationFactor: Int16 = -1,
        assignments: [(partition: Int32, brokers: [Int32])] = [],
        configs: [String: String?] = [:], validateOnly: Bool = false
    ) throws -> TopicChangeResult {
        if let problem = Self.topicNameProblem(name) {
            return .failure(.invalidTopicException, problem)
        }
        if let failure = existenceProblem(name, in: topics.image) {
            return failure
        }
        if let problem = TopicConfigs.validate(configs) {
            return .failure(.invalidConfig, problem)
        }
        let partitionCount: Int32
        switch checkedPartitionCount(requested, replicationFactor: replicationFactor, assignments: assignments) {
        case .success(let count): partitionCount = count
        case .failure(let failure): return .failure(failure.code, failure.message)
        }
        let overrides = TopicConfigs.normalized(configs.compactMapValues { $0 })
        let candidate = TopicMetadata(
            name: name, id: random.uuid(), partitionCount: partitionCount, configs: overrides)
        if validateOnly {
            return TopicChangeResult(errorCode: .noError, errorMessage: nil, topic: candidate)
        }
        var failure: TopicChangeResult?
        let created = try topics.update(named: name) { _ in
            // Checked again under the change lock: another request may have created it since.
            failure = existenceProblem(name, in: topics.image)
            return failure == nil ? candidate : nil
        }
        if let failure {
            return failure
        }
        let config = logConfig(for: name)
        do {
            for partition in 0..<partitionCount {
                _ = try logs.createLog(for: TopicPartition(topic: name, partition: partition), config: config)
            }
        } catch {
            // The topic is recorded; the logs not created are created at the next start
            // (``reconcileLogs()``). Out of file descriptors is the usual cause with many partitions.
            logger.error("could not create the logs of a new topic", metadata: ["topic": "\(name)", "error": "\(error)"])
            return .failure(
                .kafkaStorageError,
                "Topic '\(name)' was recorded but not all of its \(partitionCount) partition logs could be created: \(error). "
                    + "Raise the open files limit (ulimit -n) and restart the broker.")
        }
        logger.info("created topic", metadata: ["topic": "\(name)", "partitions": "\(partitionCount)", "id": "\(candidate.id)"])
        return TopicChangeResult(errorCode: .noError, errorMessage: nil, topic: created)
    }

    /// TOPIC_ALREADY_EXISTS, or INVALID_TOPIC_EXCEPTION for a name that differs from an
    /// existing one only by '.' versus '_' (they would share metric names in Kafka).
    private func existenceProblem(_ name: String, in image: MetadataImage) -> TopicChangeResult? {
        if image.topic(named: name) != nil {
            return .failure(.topicAlreadyExists, "Topic '\(name)' already exists.")
        }
        if name.contains(where: { $0 == "." || $0 == "_" }) {
            let unified = Self.unifyingCollisionCharacters(name)
            if let other = image.topics.first(where: { Self.unifyingCollisionCharacters($0.name) == unified }) {
                return .failure(.invalidTopicException, "Topic '\(name)' collides with existing topic: \(other.name)")
            }
        }
        return nil
    }

    private static func unifyingCollisionCharacters(_ name: String) -> String {
        String(name.map { $0 == "." ? "_" : $0 })
    }

    /// The partition count a CreateTopics entry asks for, or Kafka's error for it.
    private func checkedPartitionCount(
        _ requested: Int32, replicationFactor: Int16, assignments: [(partition: Int32, brokers: [Int32])]
    ) -> Result<Int32, ConfigChangeFailure> {
        if !assignments.isEmpty {
            if replicationFactor != -1 {
                return .failure(
                    .init(
                        .invalidRequest,
                        "A manual partition assignment was specified, but replication factor was not set to -1."))
            }
            if requested != -1 {
                return .failure(
                    .init(
                        .invalidRequest,
                        "A manual partition assignment was specified, but numPartitions was not set to -1."))
            }
            var partitions = Set<Int32>()
            var replicationFactor: Int?
            for assignment in assignments {
                if partitions.contains(assignment.partition) {
                    return .failure(
                        .init(
                            .invalidReplicaAssignment,
                            "Found multiple manual partition assignments for partition \(assignment.partition)"))
                }
                if let problem = manualAssignmentProblem(assignment.brokers, replicationFactor: replicationFactor) {
                    return .failure(.init(.invalidReplicaAssignment, problem))
                }
                replicationFactor = assignment.brokers.count
                partitions.insert(assignment.partition)
            }
            for index in 0..<Int32(partitions.count) where !partitions.contains(index) {
                return .failure(.init(.invalidReplicaAssignment, "partitions should be a consecutive 0-based integer sequence"))
            }
            return .success(Int32(partitions.count))
        }
        if replicationFactor < -1 || replicationFactor == 0 {
            return .failure(
                .init(
                    .invalidReplicationFactor,
                    "Replication factor must be larger than 0, or -1 to use the default value."))
        }
        if requested < -1 || requested == 0 {
            return .failure(.init(.invalidPartitions, "Number of partitions was set to an invalid non-positive value."))
        }
        let partitionCount = requested == -1 ? configuration.defaultPartitionCount : requested
        if replicationFactor > 1 {
            return .failure(
                .init(
                    .invalidReplicationFactor,
                    "Unable to replicate the partition \(replicationFactor) time(s): The target replication factor of \(replicationFactor) cannot be reached because only 1 broker(s) are registered."
                ))
        }
        guard partitionCount <= Self.maxPartitionCount else {
            return .failure(
                .init(
                    .invalidPartitions,
                    "Number of partitions \(partitionCount) exceeds the limit of \(Self.maxPartitionCount)."))
        }
        return .success(partitionCount)
    }

    /// The most partitions one topic may have; each is a directory with open files.
    static let maxPartitionCount: Int32 = 100_000

    /// Kafka's objection to a manual replica list, or nil. Only this broker is registered.
    func manualAssignmentProblem(_ brokers: [Int32], replicationFactor: Int?) -> String? {
        if brokers.isEmpty {
            return "The manual partition assignment includes an empty replica list."
        }
        var previous: Int32?
        for broker in brokers.sorted() {
            if broker != configuration.nodeID {
                return "The manual partition assignment includes broker \(broker), but no such broker is registered."
            }
            if broker == previous {
                return "The manual partition assignment includes the broker \(broker) more than once."
            }
            previous = broker
        }
        if let replicationFactor, brokers.count != replicationFactor {
            return
                "The manual partition assignment includes a partition with \(brokers.count) replica(s), but this is not consistent with previous partitions, which have \(replicationFactor) replica(s)."
        }
        return nil
    }

    /// Deletes a topic: removed from the metadata first, then its logs, so a crash in between
    /// leaves only orphan logs that the next start deletes.
    package func deleteTopic(named name: String) throws -> TopicChangeResult {
        guard let topic = topics.image.topic(named: name) else {
            return .failure(.unknownTopicOrPartition, KafkaMessage.unknownTopicOrPartition)
        }
        try topics.remove(named: name)
        try logs.deleteTopic(name)
        // Fetches long-polling the deleted partitions answer now instead of at their timeout.
        appendNotifier.forget(topic: name)
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
