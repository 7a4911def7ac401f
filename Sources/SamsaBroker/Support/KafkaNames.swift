/// The names of Kafka's internal topics, and the client id allowed to write to them.
package enum InternalTopics {
    /// The group coordinator's compacted topic of committed offsets and group metadata.
    package static let consumerOffsets = "__consumer_offsets"
    /// The transaction coordinator's topic; reserved here although transactions do not exist yet.
    package static let transactionState = "__transaction_state"
    /// The metadata log (a directory in the data directory, not a topic clients see); its name
    /// is reserved so that no topic can take it.
    package static let clusterMetadata = "__cluster_metadata"

    /// The topics Metadata flags as internal and only ``adminClientId`` may produce to.
    package static let all: Set<String> = [consumerOffsets, transactionState]

    /// The client id Kafka's admin tools use; Kafka lets only it write to internal topics.
    package static let adminClientId = "__admin_client"
}

/// Error messages Kafka sends with a code, kept word for word since clients and tools show
/// them (Kafka's `Errors` defaults and a few request-specific ones).
enum KafkaMessage {
    /// UNKNOWN_TOPIC_OR_PARTITION's default message.
    static let unknownTopicOrPartition = "This server does not host this topic-partition."
    /// UNKNOWN_TOPIC_ID's default message.
    static let unknownTopicId = "This server does not host this topic ID."
    /// INVALID_REQUEST for a topic named twice in CreateTopics, CreatePartitions or DeleteTopics.
    static let duplicateTopicName = "Duplicate topic name."
    /// INVALID_REQUEST (ConsumerGroupHeartbeat) or INVALID_GROUP_ID (ConsumerGroupDescribe)
    /// for an empty group id.
    static let emptyGroupId = "GroupId can't be empty."
}
