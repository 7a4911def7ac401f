import SamsaBinary
import SamsaCoordination
import SamsaProtocol
import SamsaStorage

/// OffsetFetch (key 9), versions 0-10.
///
/// v1-7 ask for one group, v8+ for several; a null topic list (v2+) asks for every partition
/// the group has committed. A partition without a commit answers offset -1, as in Kafka. v10
/// names topics by id (unknown ids get UNKNOWN_TOPIC_ID). With RequireStable (v7+, KIP-447) a
/// partition whose offset an open transaction is about to commit answers
/// UNSTABLE_OFFSET_COMMIT, which consumers retry, so a new member does not start from an offset
/// that is about to move. v9's KIP-848 member id and epoch are not checked.
struct OffsetFetchHandler: RequestHandler {
    typealias Request = OffsetFetchRequest

    let core: BrokerCore
    let groups: GroupCoordinator

    /// One group's answer, before it is laid out in the version's shape.
    struct TopicOffsets {
        var name: String
        var topicId: KafkaUUID
        var partitions: [(index: Int32, offset: CommittedOffset?, error: ErrorCode)]
    }

    func handle(_ request: OffsetFetchRequest, context: RequestContext) async throws -> OffsetFetchResponse? {
        let version = context.apiVersion
        var response = OffsetFetchResponse()
        if version >= 8 {
            for group in request.groups {
                let wanted = group.topics.map { topics in
                    topics.map { (name: $0.name, topicId: $0.topicId, partitions: $0.partitionIndexes) }
                }
                var entry = OffsetFetchResponse.OffsetFetchResponseGroup()
                entry.groupId = group.groupId
                guard context.allows(.describe, .group, group.groupId) else {
                    entry.errorCode = ErrorCode.groupAuthorizationFailed.rawValue
                    response.groups.append(entry)
                    continue
                }
                entry.topics = await fetch(
                    group: group.groupId, wanted: wanted, byId: version >= 10, requireStable: request.requireStable, context: context
                ).map { topic in
                    var result = OffsetFetchResponse.OffsetFetchResponseTopics()
                    result.name = topic.name
                    result.topicId = topic.topicId
                    result.partitions = topic.partitions.map { partition in
                        var item = OffsetFetchResponse.OffsetFetchResponsePartitions()
                        item.partitionIndex = partition.index
                        item.committedOffset = partition.offset?.offset ?? -1
                        item.committedLeaderEpoch = partition.offset?.leaderEpoch ?? -1
                        item.metadata = partition.offset?.metadata ?? ""
                        item.errorCode = partition.error.rawValue
                        return item
                    }
                    return result
                }
                response.groups.append(entry)
            }
            return response
        }
        let wanted = (version >= 2 ? request.topics : (request.topics ?? [])).map { topics in
            topics.map { (name: $0.name, topicId: KafkaUUID.zero, partitions: $0.partitionIndexes) }
        }
        guard context.allows(.describe, .group, request.groupId) else {
            response.errorCode = ErrorCode.groupAuthorizationFailed.rawValue
            return response
        }
        response.topics = await fetch(
            group: request.groupId, wanted: wanted, byId: false, requireStable: version >= 7 && request.requireStable, context: context
        ).map { topic in
            var result = OffsetFetchResponse.OffsetFetchResponseTopic()
            result.name = topic.name
            result.partitions = topic.partitions.map { partition in
                var item = OffsetFetchResponse.OffsetFetchResponsePartition()
                item.partitionIndex = partition.index
                item.committedOffset = partition.offset?.offset ?? -1
                item.committedLeaderEpoch = partition.offset?.leaderEpoch ?? -1
                item.metadata = partition.offset?.metadata ?? ""
                item.errorCode = partition.error.rawValue
                return item
            }
            return result
        }
        return response
    }

    private func fetch(
        group: String, wanted: [(name: String, topicId: KafkaUUID, partitions: [Int32])]?, byId: Bool, requireStable: Bool,
        context: RequestContext
    ) async -> [TopicOffsets] {
        let image = core.topics.image
        let unstable = requireStable ? await groups.partitionsWithPendingTransactionalOffsets(groupId: group) : []
        func answer(_ partition: TopicPartition, _ offset: CommittedOffset?) -> (index: Int32, offset: CommittedOffset?, error: ErrorCode) {
            unstable.contains(partition)
                ? (index: partition.partition, offset: nil, error: .unstableOffsetCommit)
                : (index: partition.partition, offset: offset, error: .noError)
        }
        guard let wanted else {
            let all = await groups.fetchOffsets(groupId: group, partitions: nil)
            // Topics the principal may not describe are left out.
            let byTopic = Dictionary(grouping: all.keys.filter { context.allows(.describe, .topic, $0.topic) }, by: \.topic)
            return byTopic.keys.sorted().map { name in
                TopicOffsets(
                    name: name, topicId: image.topic(named: name)?.id ?? .zero,
                    partitions: byTopic[name]!.sorted().map { answer($0, all[$0]) }
                )
            }
        }
        var requests: [TopicPartition] = []
        var resolved: [String?] = []
        for topic in wanted {
            let name = byId ? image.topic(id: topic.topicId)?.name : topic.name
            resolved.append(name)
            if let name {
                requests += topic.partitions.map { TopicPartition(topic: name, partition: $0) }
            }
        }
        let found = await groups.fetchOffsets(groupId: group, partitions: requests)
        return zip(wanted, resolved).map { topic, name in
            TopicOffsets(
                name: name ?? topic.name, topicId: topic.topicId,
                partitions: topic.partitions.map { index in
                    guard let name else { return (index: index, offset: nil, error: .unknownTopicId) }
                    guard context.allows(.describe, .topic, name) else {
                        return (index: index, offset: nil, error: .topicAuthorizationFailed)
                    }
                    let partition = TopicPartition(topic: name, partition: index)
                    return answer(partition, found[partition])
                }
            )
        }
    }
}
