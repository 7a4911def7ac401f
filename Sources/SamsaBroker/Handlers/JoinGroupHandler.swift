import NIOCore
import SamsaCoordination
import SamsaProtocol

/// JoinGroup (key 11), versions 0-9.
///
/// Hands the join to the ``GroupCoordinator`` and answers when the rebalance completes (or at
/// once for errors, MEMBER_ID_REQUIRED and rejoins that change nothing). v0 has no rebalance
/// timeout: the session timeout serves as one, as in Kafka. From v4 a new dynamic member gets
/// MEMBER_ID_REQUIRED first; from v9 a static leader rejoining a stable group may be told to
/// skip assignment (KIP-814). The assignment itself stays with the client's leader.
struct JoinGroupHandler: RequestHandler {
    typealias Request = JoinGroupRequest

    let groups: GroupCoordinator

    func handle(_ request: JoinGroupRequest, context: RequestContext) async throws -> JoinGroupResponse? {
        guard context.allows(.read, .group, request.groupId) else {
            var response = JoinGroupResponse()
            response.errorCode = ErrorCode.groupAuthorizationFailed.rawValue
            response.generationId = -1
            return response
        }
        let version = context.apiVersion
        let join = ClassicJoinRequest(
            memberId: request.memberId, groupInstanceId: version >= 5 ? request.groupInstanceId : nil,
            clientId: context.clientId, clientHost: context.clientHost,
            sessionTimeoutMs: request.sessionTimeoutMs,
            rebalanceTimeoutMs: version >= 1 ? request.rebalanceTimeoutMs : request.sessionTimeoutMs,
            protocolType: request.protocolType,
            protocols: request.protocols.map { ClassicGroupProtocol(name: $0.name, metadata: $0.metadata) },
            requiresKnownMemberId: version >= 4, supportsSkippingAssignment: version >= 9
        )
        let result = await groups.joinGroup(groupId: request.groupId, join)
        var response = JoinGroupResponse()
        response.errorCode = result.errorCode.rawValue
        response.generationId = result.errorCode == .noError ? result.generationId : -1
        response.protocolType = result.protocolType
        response.protocolName = version >= 7 ? result.protocolName : (result.protocolName ?? "")
        response.leader = result.leaderId
        response.skipAssignment = result.skipAssignment
        response.memberId = result.memberId
        response.members = result.members.map { member in
            var entry = JoinGroupResponse.JoinGroupResponseMember()
            entry.memberId = member.memberId
            entry.groupInstanceId = member.groupInstanceId
            entry.metadata = member.metadata
            return entry
        }
        return response
    }
}

extension RequestContext {
    /// The client's address as Kafka shows it in DescribeGroups ("/127.0.0.1").
    var clientHost: String {
        connection.remoteAddress?.ipAddress.map { "/\($0)" } ?? ""
    }
}
