import SamsaProtocol
import SamsaStorage

/// What this broker says about partition leadership: it is the only node and leads every
/// partition in leader epoch 0, forever (no elections, so the epoch never moves).
enum PartitionLeadership {
    /// The leader epoch of every partition.
    static let leaderEpoch: Int32 = 0

    /// Kafka's check of a request's CurrentLeaderEpoch (Fetch v9+, ListOffsets v4+,
    /// OffsetForLeaderEpoch v2+): -1 skips it; an older epoch is FENCED_LEADER_EPOCH (the client
    /// is behind); a newer one is UNKNOWN_LEADER_EPOCH (the broker would be behind).
    static func checkCurrentLeaderEpoch(_ requested: Int32) -> ErrorCode? {
        if requested == -1 { return nil }
        if requested < leaderEpoch { return .fencedLeaderEpoch }
        if requested > leaderEpoch { return .unknownLeaderEpoch }
        return nil
    }
}

extension BrokerCore {
    /// The log of partition `partition` of `topic`, or the error Kafka answers when there is
    /// none (UNKNOWN_TOPIC_OR_PARTITION for an unknown topic or an index out of range).
    func servingLog(topic: TopicMetadata?, partition: Int32) -> Result<PartitionLog, PartitionLookupError> {
        guard let topic, partition >= 0, partition < topic.partitionCount,
              let log = logs.log(for: TopicPartition(topic: topic.name, partition: partition))
        else {
            return .failure(PartitionLookupError(code: .unknownTopicOrPartition))
        }
        return .success(log)
    }
}

/// The error code of a partition that cannot be served.
struct PartitionLookupError: Error {
    let code: ErrorCode
}

extension StorageError {
    /// The Kafka error a read failure is answered with: OFFSET_OUT_OF_RANGE, or
    /// UNKNOWN_TOPIC_OR_PARTITION for a log closed by topic deletion, else KAFKA_STORAGE_ERROR.
    var fetchErrorCode: ErrorCode {
        if isOffsetOutOfRange { return .offsetOutOfRange }
        if isClosed { return .unknownTopicOrPartition }
        return .kafkaStorageError
    }
}
