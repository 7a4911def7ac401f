import SamsaProtocol
import SamsaStorage

/// OffsetForLeaderEpoch (key 23), versions 0-4 (v0-1 beyond Kafka 4; they have no CurrentLeaderEpoch).
///
/// Every partition has had one leader epoch, 0, since its first offset, so the answer follows
/// Kafka's `LeaderEpochFileCache.endOffsetFor` with a single entry (epoch 0 from the log start):
/// - LeaderEpoch 0 (the current one): leader epoch 0 and the log end offset;
/// - LeaderEpoch -1, or one above 0 that no leader ever had: no error, epoch and offset -1;
/// - another negative epoch (older than every entry): that epoch and the start of epoch 0
///   (the log start offset).
/// CurrentLeaderEpoch is checked first: -1 skips the check, 0 passes, a larger one is
/// UNKNOWN_LEADER_EPOCH and a smaller one FENCED_LEADER_EPOCH. An unknown topic or partition is
/// UNKNOWN_TOPIC_OR_PARTITION.
struct OffsetForLeaderEpochHandler: RequestHandler {
    typealias Request = OffsetForLeaderEpochRequest

    let core: BrokerCore

    func handle(_ request: OffsetForLeaderEpochRequest, context: RequestContext) async throws -> OffsetForLeaderEpochResponse? {
        let image = core.topics.image
        var response = OffsetForLeaderEpochResponse()
        for topic in request.topics {
            var result = OffsetForLeaderEpochResponse.OffsetForLeaderTopicResult()
            result.topic = topic.topic
            let metadata = image.topic(named: topic.topic)
            let describable = context.allows(.describe, .topic, topic.topic)
            for partition in topic.partitions {
                var entry = answer(partition, topic: describable ? metadata : nil)
                if !describable { entry.errorCode = ErrorCode.topicAuthorizationFailed.rawValue }
                result.partitions.append(entry)
            }
            response.topics.append(result)
        }
        return response
    }

    private func answer(
        _ partition: OffsetForLeaderEpochRequest.OffsetForLeaderPartition, topic: TopicMetadata?
    ) -> OffsetForLeaderEpochResponse.EpochEndOffset {
        var answer = OffsetForLeaderEpochResponse.EpochEndOffset()
        answer.partition = partition.partition
        answer.leaderEpoch = -1
        answer.endOffset = -1
        let log: PartitionLog
        switch core.servingLog(topic: topic, partition: partition.partition, currentLeaderEpoch: partition.currentLeaderEpoch) {
        case .failure(let error):
            answer.errorCode = error.code.rawValue
            return answer
        case .success(let found):
            log = found
        }
        answer.errorCode = ErrorCode.noError.rawValue
        let requested = partition.leaderEpoch
        if requested == PartitionLeadership.leaderEpoch {
            answer.leaderEpoch = requested
            answer.endOffset = log.logEndOffset
        } else if requested < -1 {
            answer.leaderEpoch = requested
            answer.endOffset = log.logStartOffset
        }
        return answer
    }
}
