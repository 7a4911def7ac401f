import SamsaBinary
import SamsaCoordination
import SamsaProtocol

/// ConsumerGroupDescribe (key 69), versions 0-1: KIP-848 consumer groups.
///
/// As Kafka: an empty group id gets INVALID_GROUP_ID; an unknown group, or a classic one
/// ("is not a consumer group"), GROUP_ID_NOT_FOUND. A member's assignment is what it was told
/// to own (without partitions it is still revoking), its target assignment what the assignor
/// gave it; topics are named from the metadata image (a deleted topic's name is empty). Every
/// member is a consumer-protocol member (v1 MemberType 1). Authorized operations, when asked
/// for, are all group operations (no ACLs here).
struct ConsumerGroupDescribeHandler: RequestHandler {
    typealias Request = ConsumerGroupDescribeRequest

    let core: BrokerCore
    let groups: GroupCoordinator

    func handle(_ request: ConsumerGroupDescribeRequest, context: RequestContext) async throws -> ConsumerGroupDescribeResponse? {
        let image = core.topics.image
        var response = ConsumerGroupDescribeResponse()
        for id in request.groupIds {
            var entry = ConsumerGroupDescribeResponse.DescribedGroup()
            entry.groupId = id
            if request.includeAuthorizedOperations {
                entry.authorizedOperations = DescribeGroupsHandler.allGroupOperations
            }
            guard context.allows(.describe, .group, id) else {
                entry.errorCode = ErrorCode.groupAuthorizationFailed.rawValue
                entry.errorMessage = nil
                response.groups.append(entry)
                continue
            }
            guard !id.isEmpty else {
                entry.errorCode = ErrorCode.invalidGroupId.rawValue
                entry.errorMessage = KafkaMessage.emptyGroupId
                response.groups.append(entry)
                continue
            }
            guard let group = await groups.consumerGroup(id), group.state != .dead else {
                let isClassic = await groups.group(id).map { $0.state != .dead } ?? false
                entry.errorCode = ErrorCode.groupIdNotFound.rawValue
                entry.errorMessage = isClassic ? "Group \(id) is not a consumer group." : "Group \(id) not found."
                response.groups.append(entry)
                continue
            }
            entry.groupState = group.state.rawValue
            entry.groupEpoch = group.groupEpoch
            entry.assignmentEpoch = group.assignmentEpoch
            entry.assignorName = group.assignorName
            entry.members = group.orderedMembers.map { member in
                var described = ConsumerGroupDescribeResponse.Member()
                described.memberId = member.memberId
                described.instanceId = member.instanceId
                described.rackId = member.rackId
                described.memberEpoch = member.memberEpoch
                described.clientId = member.clientId
                described.clientHost = member.clientHost
                described.subscribedTopicNames = member.subscribedTopicNames
                described.subscribedTopicRegex = member.subscribedTopicRegex
                described.assignment = Self.describe(member.assignedPartitions, image: image)
                described.targetAssignment = Self.describe(group.targetAssignment[member.memberId] ?? .empty, image: image)
                described.memberType = 1
                return described
            }
            response.groups.append(entry)
        }
        return response
    }

    static func describe(_ assignment: PartitionAssignment, image: MetadataImage) -> ConsumerGroupDescribeResponse.Assignment {
        var result = ConsumerGroupDescribeResponse.Assignment()
        result.topicPartitions = assignment.topicIds.map { id in
            var topic = ConsumerGroupDescribeResponse.TopicPartitions()
            topic.topicId = id
            topic.topicName = image.topic(id: id)?.name ?? ""
            topic.partitions = assignment[id].sorted()
            return topic
        }
        return result
    }
}
