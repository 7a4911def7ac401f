import SamsaProtocol

/// Heartbeat (key 12), versions 0-4.
///
/// Renews the member's session. REBALANCE_IN_PROGRESS tells it to rejoin; v3+ carries the
/// static member id, checked for fencing.
struct HeartbeatHandler: RequestHandler {
    typealias Request = HeartbeatRequest

    let groups: GroupCoordinator

    func handle(_ request: HeartbeatRequest, context: RequestContext) async throws -> HeartbeatResponse? {
        guard context.allows(.read, .group, request.groupId) else {
            var response = HeartbeatResponse()
            response.errorCode = ErrorCode.groupAuthorizationFailed.rawValue
            return response
        }
        let error = await groups.heartbeat(
            groupId: request.groupId, memberId: request.memberId,
            groupInstanceId: context.apiVersion >= 3 ? request.groupInstanceId : nil, generationId: request.generationId
        )
        var response = HeartbeatResponse()
        response.errorCode = error.rawValue
        return response
    }
}
