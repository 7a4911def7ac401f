import SamsaBinary
import SamsaProtocol

/// What the client knows of the cluster from its last Metadata answer: the brokers, and for
/// each topic its partitions with their leaders and leader epochs.
public struct ClusterMetadata: Sendable {
    /// One partition's leadership.
    public struct Partition: Hashable, Sendable {
        public var index: Int32
        /// The leader's node id, or -1 while there is none.
        public var leader: Int32
        public var leaderEpoch: Int32
        public var error: ErrorCode
    }

    /// One topic.
    public struct Topic: Sendable {
        public var name: String
        public var id: KafkaUUID
        public var isInternal: Bool
        /// By partition index, in order.
        public var partitions: [Partition]
        public var error: ErrorCode
    }

    public var clusterId: String?
    public var controllerId: Int32 = -1
    /// Node id → address.
    public var brokers: [Int32: BrokerAddress] = [:]
    public private(set) var topics: [String: Topic] = [:]
    /// ``partitionCount(of:)`` for every topic, kept beside `topics` so the producer's lookup
    /// per record copies nothing.
    private var usablePartitionCounts: [String: Int] = [:]
    /// The topic whose partition count was asked last, and the answer: a producer asks for the
    /// same topic for record after record, and comparing the name costs less than hashing it.
    private var lastCountLookup: CountLookup?

    private struct CountLookup: Sendable {
        let topic: String
        let count: Int?
    }

    init() {}

    init(_ response: MetadataResponse) {
        clusterId = response.clusterId
        controllerId = response.controllerId
        for broker in response.brokers {
            brokers[broker.nodeId] = BrokerAddress(host: broker.host, port: Int(broker.port))
        }
        for topic in response.topics {
            guard let name = topic.name else { continue }
            let partitions = topic.partitions.map {
                Partition(
                    index: $0.partitionIndex, leader: $0.leaderId, leaderEpoch: $0.leaderEpoch, error: ErrorCode(rawValue: $0.errorCode))
            }.sorted { $0.index < $1.index }
            topics[name] = Topic(
                name: name, id: topic.topicId, isInternal: topic.isInternal, partitions: partitions,
                error: ErrorCode(rawValue: topic.errorCode))
        }
        countPartitions()
    }

    private mutating func countPartitions() {
        usablePartitionCounts = topics.compactMapValues { $0.error == .noError && !$0.partitions.isEmpty ? $0.partitions.count : nil }
        lastCountLookup = nil
    }

    /// Adds what `newer` says (its brokers replace ours; its topics replace ours by name).
    mutating func merge(_ newer: ClusterMetadata) {
        clusterId = newer.clusterId ?? clusterId
        controllerId = newer.controllerId
        if !newer.brokers.isEmpty { brokers = newer.brokers }
        for (name, topic) in newer.topics {
            topics[name] = topic
        }
        countPartitions()
    }

    /// The number of partitions of `topic`, if it is known and usable.
    public func partitionCount(of topic: String) -> Int? {
        usablePartitionCounts[topic]
    }

    /// ``partitionCount(of:)``, remembered for the next call with the same topic.
    mutating func rememberedPartitionCount(of topic: String) -> Int? {
        if let last = lastCountLookup, last.topic == topic { return last.count }
        let count = usablePartitionCounts[topic]
        lastCountLookup = CountLookup(topic: topic, count: count)
        return count
    }

    /// The leader of a partition, if it has one.
    public func leader(of topic: String, partition: Int32) -> Int32? {
        guard let entry = topics[topic], partition >= 0, Int(partition) < entry.partitions.count else { return nil }
        let leader = entry.partitions[Int(partition)].leader
        return leader >= 0 ? leader : nil
    }

    /// `partitions` by their leader's node id; UNKNOWN_TOPIC_OR_PARTITION for one the metadata
    /// does not have, LEADER_NOT_AVAILABLE for one without a leader.
    func byLeader(_ partitions: some Sequence<TopicPartition>) throws -> [Int32: [TopicPartition]] {
        var result: [Int32: [TopicPartition]] = [:]
        for partition in partitions {
            guard let entry = topics[partition.topic], partition.partition >= 0, Int(partition.partition) < entry.partitions.count else {
                throw KafkaError(.unknownTopicOrPartition, topic: partition.topic, partition: partition.partition)
            }
            guard let leader = leader(of: partition.topic, partition: partition.partition) else {
                throw KafkaError(.leaderNotAvailable, topic: partition.topic, partition: partition.partition)
            }
            result[leader, default: []].append(partition)
        }
        return result
    }
}
