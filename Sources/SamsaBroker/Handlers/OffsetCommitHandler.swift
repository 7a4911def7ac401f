import SamsaCoordination
import SamsaProtocol
import SamsaStorage

/// OffsetCommit (key 8), versions 0-10.
///
/// Partitions of unknown topics get UNKNOWN_TOPIC_OR_PARTITION (UNKNOWN_TOPIC_ID for v10,
/// which names topics by id), metadata over `offset.metadata.max.bytes` gets
/// OFFSET_METADATA_TOO_LARGE; the rest are checked against the group (generation, member,
/// static fencing; generation -1 commits from outside group management are allowed while the
/// group is empty) and answered once durable in `__consumer_offsets`. v2-4's retention time
/// sets an explicit expiry; a v1 commit timestamp (other than -1) is kept as the commit time
/// and expires the offset `offsets.retention.minutes` after it, as Kafka 3.x did. v0 has no
/// generation or member: it commits from outside group management (generation -1). For KIP-848 consumer groups the generation is the member epoch
/// (see ``ConsumerGroup/validateOffsetCommit(memberId:memberEpoch:apiVersion:)``).
struct OffsetCommitHandler: RequestHandler {
    typealias Request = OffsetCommitRequest

    let core: BrokerCore
    let groups: GroupCoordinator
    let configuration: GroupCoordinatorConfiguration

    func handle(_ request: OffsetCommitRequest, context: RequestContext) async throws -> OffsetCommitResponse? {
        let version = context.apiVersion
        let now = core.clock.nowMilliseconds()
        let image = core.topics.image
        let expire: Int64? = version <= 4 && request.retentionTimeMs >= 0 ? now + request.retentionTimeMs : nil
        var errors: [[ErrorCode?]] = []
        var names: [String?] = []
        var entries: [TopicPartition: CommittedOffset] = [:]
        let groupAllowed = context.allows(.read, .group, request.groupId)
        for topic in request.topics {
            let metadata = version >= 10 ? image.topic(id: topic.topicId) : image.topic(named: topic.name)
            names.append(metadata?.name)
            var topicErrors: [ErrorCode?] = []
            let readable = context.allows(.read, .topic, metadata?.name ?? topic.name)
            for partition in topic.partitions {
                guard groupAllowed else {
                    topicErrors.append(.groupAuthorizationFailed)
                    continue
                }
                guard readable else {
                    topicErrors.append(.topicAuthorizationFailed)
                    continue
                }
                guard let metadata, partition.partitionIndex >= 0, partition.partitionIndex < metadata.partitionCount else {
                    topicErrors.append(version >= 10 && metadata == nil ? .unknownTopicId : .unknownTopicOrPartition)
                    continue
                }
                let text = partition.committedMetadata ?? ""
                guard text.utf8.count <= configuration.offsetMetadataMaxBytes else {
                    topicErrors.append(.offsetMetadataTooLarge)
                    continue
                }
                topicErrors.append(nil)
                let explicitTime = version == 1 && partition.commitTimestamp != -1 ? partition.commitTimestamp : nil
                entries[TopicPartition(topic: metadata.name, partition: partition.partitionIndex)] = CommittedOffset(
                    offset: partition.committedOffset, leaderEpoch: version >= 6 ? partition.committedLeaderEpoch : -1,
                    metadata: text, commitTimestamp: explicitTime ?? now,
                    expireTimestamp: explicitTime.map { $0 + configuration.offsetsRetentionMs } ?? expire
                )
            }
            errors.append(topicErrors)
        }
        let groupError =
            !groupAllowed
            ? ErrorCode.groupAuthorizationFailed
            : await groups.commitOffsets(
                groupId: request.groupId, memberId: request.memberId,
                groupInstanceId: version >= 7 ? request.groupInstanceId : nil,
                generationId: request.generationIdOrMemberEpoch, entries: entries, apiVersion: version
            )
        var response = OffsetCommitResponse()
        for (topicIndex, topic) in request.topics.enumerated() {
            var entry = OffsetCommitResponse.OffsetCommitResponseTopic()
            entry.name = names[topicIndex] ?? topic.name
            entry.topicId = topic.topicId
            entry.partitions = topic.partitions.enumerated().map { index, partition in
                var result = OffsetCommitResponse.OffsetCommitResponsePartition()
                result.partitionIndex = partition.partitionIndex
                result.errorCode = (errors[topicIndex][index] ?? groupError).rawValue
                return result
            }
            response.topics.append(entry)
        }
        return response
    }
}
