import Logging
import SamsaProtocol
import SamsaStorage

extension BrokerCore {
    /// Grows topic `name` to `count` partitions (CreatePartitions), with Kafka's checks and
    /// messages: the count must grow, and manual `assignments` (one replica list per new
    /// partition) may only name this broker, once. The registry is updated durably first and
    /// the new partition logs created after; a crash in between is repaired at the next start
    /// (``reconcileLogs()``). Blocks on disk: call from ``BlockingWork``.
    package func createPartitions(
        name: String, count: Int32, assignments: [[Int32]]?, validateOnly: Bool = false
    ) throws -> TopicChangeResult {
        // Kafka answers an unknown topic with no message.
        var outcome = TopicChangeResult(errorCode: .unknownTopicOrPartition, errorMessage: nil, topic: nil)
        var previousCount: Int32 = 0
        var grown = false
        _ = try topics.update(named: name) { existing in
            guard let existing else { return nil }
            if let failure = partitionGrowthProblem(existing, count: count, assignments: assignments) {
                outcome = .failure(failure.code, failure.message)
                return nil
            }
            var topic = existing
            topic.partitionCount = count
            outcome = TopicChangeResult(errorCode: .noError, errorMessage: nil, topic: topic)
            previousCount = existing.partitionCount
            grown = !validateOnly
            return validateOnly ? nil : topic
        }
        if grown, let topic = outcome.topic {
            let config = logConfig(for: name)
            for partition in previousCount..<topic.partitionCount {
                _ = try logs.createLog(for: TopicPartition(topic: name, partition: partition), config: config)
            }
            logger.info("added partitions", metadata: ["topic": "\(name)", "from": "\(previousCount)", "to": "\(count)"])
        }
        return outcome
    }

    private func partitionGrowthProblem(_ topic: TopicMetadata, count: Int32, assignments: [[Int32]]?) -> ConfigChangeFailure? {
        let current = topic.partitionCount
        if count == current {
            return ConfigChangeFailure(.invalidPartitions, "Topic already has \(current) partition(s).")
        }
        if count < current {
            return ConfigChangeFailure(
                .invalidPartitions,
                "The topic \(topic.name) currently has \(current) partition(s); \(count) would not be an increase.")
        }
        if count > Self.maxPartitionCount {
            return ConfigChangeFailure(
                .invalidPartitions, "Number of partitions \(count) exceeds the limit of \(Self.maxPartitionCount).")
        }
        let additional = count - current
        if let assignments {
            if assignments.count != Int(additional) {
                return ConfigChangeFailure(
                    .invalidReplicaAssignment,
                    "Attempted to add \(additional) additional partition(s), but only \(assignments.count) assignment(s) were specified.")
            }
            for brokers in assignments {
                if let problem = manualAssignmentProblem(brokers, replicationFactor: 1) {
                    return ConfigChangeFailure(.invalidReplicaAssignment, problem)
                }
            }
        }
        return nil
    }
}
