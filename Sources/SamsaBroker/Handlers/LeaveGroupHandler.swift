import SamsaCoordination
import SamsaProtocol

/// LeaveGroup (key 13), versions 0-5.
///
/// v0-2 name one member and report its error at the top level; v3+ name several (static
/// members by instance id) with an error each.
struct LeaveGroupHandler: RequestHandler {
    typealias Request = LeaveGroupRequest

    let groups: GroupCoordinator

    func handle(_ request: LeaveGroupRequest, context: RequestContext) async throws -> LeaveGroupResponse? {
        guard context.allows(.read, .group, request.groupId) else {
            var response = LeaveGroupResponse()
            response.errorCode = ErrorCode.groupAuthorizationFailed.rawValue
            return response
        }
        let version = context.apiVersion
        let leaving =
            version >= 3
            ? request.members.map { ClassicLeavingMember(memberId: $0.memberId, groupInstanceId: $0.groupInstanceId) }
            : [ClassicLeavingMember(memberId: request.memberId)]
        let (groupError, memberErrors) = await groups.leaveGroup(groupId: request.groupId, members: leaving)
        var response = LeaveGroupResponse()
        if version >= 3 {
            response.errorCode = groupError.rawValue
            response.members = zip(leaving, memberErrors).map { member, error in
                var entry = LeaveGroupResponse.MemberResponse()
                entry.memberId = member.memberId
                entry.groupInstanceId = member.groupInstanceId
                entry.errorCode = error.rawValue
                return entry
            }
        } else {
            let memberError = memberErrors.first ?? .noError
            response.errorCode = (groupError == .noError ? memberError : groupError).rawValue
        }
        return response
    }
}
