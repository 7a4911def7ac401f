import SamsaBinary
import SamsaCoordination
import SamsaProtocol

/// ConsumerGroupHeartbeat (key 68), versions 0-1: KIP-848 consumer groups.
///
/// Joins (epoch 0), heartbeats, leaves (-1; static members -2) and reconciles the member
/// towards its target assignment computed by the server-side assignor ("uniform", the
/// default, or "range"). v0 members get their id from the coordinator; v1 members bring their
/// own (an empty one is INVALID_REQUEST). v1's regular expression subscriptions are matched
/// against whole topic names with Swift's regex syntax (Kafka uses RE2/J, which agrees on
/// common patterns). Owned partitions of topic ids that do not exist are ignored.
struct ConsumerGroupHeartbeatHandler: RequestHandler {
    typealias Request = ConsumerGroupHeartbeatRequest

    let groups: GroupCoordinator

    func handle(_ request: ConsumerGroupHeartbeatRequest, context: RequestContext) async throws -> ConsumerGroupHeartbeatResponse? {
        guard context.allows(.read, .group, request.groupId) else {
            var response = ConsumerGroupHeartbeatResponse()
            response.errorCode = ErrorCode.groupAuthorizationFailed.rawValue
            response.errorMessage = "Not authorized to access group \(request.groupId)."
            return response
        }
        let owned = request.topicPartitions.map { topics in
            var assignment = PartitionAssignment()
            for topic in topics {
                for partition in topic.partitions { assignment.insert(topic.topicId, partition) }
            }
            return assignment
        }
        let heartbeat = ConsumerHeartbeatRequest(
            memberId: request.memberId, memberEpoch: request.memberEpoch, instanceId: request.instanceId,
            rackId: request.rackId, rebalanceTimeoutMs: request.rebalanceTimeoutMs,
            subscribedTopicNames: request.subscribedTopicNames,
            subscribedTopicRegex: context.apiVersion >= 1 ? request.subscribedTopicRegex : nil,
            serverAssignor: request.serverAssignor, ownedPartitions: owned,
            clientId: context.clientId, clientHost: context.clientHost
        )
        let result = await groups.consumerGroupHeartbeat(groupId: request.groupId, heartbeat, memberIdRequired: context.apiVersion >= 1)
        var response = ConsumerGroupHeartbeatResponse()
        response.errorCode = result.errorCode.rawValue
        response.errorMessage = result.errorMessage
        guard result.errorCode == .noError else { return response }
        response.memberId = result.memberId
        response.memberEpoch = result.memberEpoch
        response.heartbeatIntervalMs = result.heartbeatIntervalMs
        response.assignment = result.assignment.map { assignment in
            var entry = ConsumerGroupHeartbeatResponse.Assignment()
            entry.topicPartitions = assignment.topicIds.map { id in
                var topic = ConsumerGroupHeartbeatResponse.TopicPartitions()
                topic.topicId = id
                topic.partitions = assignment[id].sorted()
                return topic
            }
            return entry
        }
        return response
    }
}
