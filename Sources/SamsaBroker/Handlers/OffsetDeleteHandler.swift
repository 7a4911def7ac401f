import SamsaProtocol
import SamsaStorage

/// OffsetDelete (key 47), version 0.
///
/// Deletes a group's committed offsets for partitions it does not consume: an empty group's
/// any, a consumer group's only those of topics no member subscribes to (the others get
/// GROUP_SUBSCRIBED_TO_TOPIC). Unknown topics get UNKNOWN_TOPIC_OR_PARTITION.
struct OffsetDeleteHandler: RequestHandler {
    typealias Request = OffsetDeleteRequest

    let core: BrokerCore
    let groups: GroupCoordinator

    func handle(_ request: OffsetDeleteRequest, context: RequestContext) async throws -> OffsetDeleteResponse? {
        guard context.allows(.delete, .group, request.groupId) else {
            var refused = OffsetDeleteResponse()
            refused.errorCode = ErrorCode.groupAuthorizationFailed.rawValue
            return refused
        }
        let image = core.topics.image
        let readable = Set(request.topics.map(\.name).filter { context.allows(.read, .topic, $0) })
        var partitions: [TopicPartition] = []
        for topic in request.topics where image.topic(named: topic.name) != nil && readable.contains(topic.name) {
            partitions += topic.partitions.map { TopicPartition(topic: topic.name, partition: $0.partitionIndex) }
        }
        let (groupError, errors) = await groups.deleteOffsets(groupId: request.groupId, partitions: partitions)
        var response = OffsetDeleteResponse()
        response.errorCode = groupError.rawValue
        guard groupError == .noError else { return response }
        response.topics = request.topics.map { topic in
            var entry = OffsetDeleteResponse.OffsetDeleteResponseTopic()
            entry.name = topic.name
            entry.partitions = topic.partitions.map { partition in
                var result = OffsetDeleteResponse.OffsetDeleteResponsePartition()
                result.partitionIndex = partition.partitionIndex
                let key = TopicPartition(topic: topic.name, partition: partition.partitionIndex)
                result.errorCode =
                    (readable.contains(topic.name) ? errors[key] ?? .unknownTopicOrPartition : .topicAuthorizationFailed).rawValue
                return result
            }
            return entry
        }
        return response
    }
}
