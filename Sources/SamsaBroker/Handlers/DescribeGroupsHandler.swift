import NIOCore
import SamsaCoordination
import SamsaProtocol

/// DescribeGroups (key 15), versions 0-6.
///
/// As Kafka: a Stable group shows its chosen protocol and each member's metadata and
/// assignment; in other states members are listed without them. An unknown group is "Dead"
/// with no error up to v5, GROUP_ID_NOT_FOUND from v6; so is a KIP-848 consumer group, as in
/// Kafka ("is not a classic group"; ConsumerGroupDescribe describes those). Authorized
/// operations (v3+), when asked for, are all group operations (no ACLs here).
struct DescribeGroupsHandler: RequestHandler {
    typealias Request = DescribeGroupsRequest

    let groups: GroupCoordinator

    /// READ, DELETE and DESCRIBE, the ACL operations of a group.
    static let allGroupOperations: Int32 = (1 << 3) | (1 << 6) | (1 << 8)

    func handle(_ request: DescribeGroupsRequest, context: RequestContext) async throws -> DescribeGroupsResponse? {
        let version = context.apiVersion
        var response = DescribeGroupsResponse()
        for id in request.groups {
            var entry = DescribeGroupsResponse.DescribedGroup()
            entry.groupId = id
            if version >= 3 && request.includeAuthorizedOperations {
                entry.authorizedOperations = Self.allGroupOperations
            }
            guard context.allows(.describe, .group, id) else {
                entry.errorCode = ErrorCode.groupAuthorizationFailed.rawValue
                response.groups.append(entry)
                continue
            }
            guard let group = await groups.group(id), group.state != .dead else {
                entry.groupState = ClassicGroupState.dead.rawValue
                if version >= 6 {
                    entry.errorCode = ErrorCode.groupIdNotFound.rawValue
                    let isConsumer = await groups.consumerGroup(id) != nil
                    entry.errorMessage = isConsumer ? "Group \(id) is not a classic group." : "Group \(id) not found."
                }
                response.groups.append(entry)
                continue
            }
            let stable = group.state == .stable
            entry.groupState = group.state.rawValue
            entry.protocolType = group.protocolType ?? ""
            entry.protocolData = stable ? group.protocolName ?? "" : ""
            entry.members = group.orderedMembers.map { member in
                var described = DescribeGroupsResponse.DescribedGroupMember()
                described.memberId = member.memberId
                described.groupInstanceId = member.groupInstanceId
                described.clientId = member.clientId
                described.clientHost = member.clientHost
                described.memberMetadata = stable ? member.metadata(for: group.protocolName) : ByteBuffer()
                described.memberAssignment = stable ? member.assignment : ByteBuffer()
                return described
            }
            response.groups.append(entry)
        }
        return response
    }
}
