import NIOCore
import SamsaCoordination
import SamsaProtocol

/// SyncGroup (key 14), versions 0-5.
///
/// The leader's assignment is persisted in `__consumer_offsets` before any member gets its
/// part; followers wait for it. v5 checks the protocol type and name against the group's
/// (INCONSISTENT_GROUP_PROTOCOL) and echoes them.
struct SyncGroupHandler: RequestHandler {
    typealias Request = SyncGroupRequest

    let groups: GroupCoordinator

    func handle(_ request: SyncGroupRequest, context: RequestContext) async throws -> SyncGroupResponse? {
        guard context.allows(.read, .group, request.groupId) else {
            var response = SyncGroupResponse()
            response.errorCode = ErrorCode.groupAuthorizationFailed.rawValue
            return response
        }
        let version = context.apiVersion
        var assignments: [String: ByteBuffer] = [:]
        for entry in request.assignments {
            assignments[entry.memberId] = entry.assignment
        }
        let sync = ClassicSyncRequest(
            memberId: request.memberId, groupInstanceId: version >= 3 ? request.groupInstanceId : nil,
            generationId: request.generationId,
            protocolType: version >= 5 ? request.protocolType : nil, protocolName: version >= 5 ? request.protocolName : nil,
            assignments: assignments
        )
        let result = await groups.syncGroup(groupId: request.groupId, sync)
        var response = SyncGroupResponse()
        response.errorCode = result.errorCode.rawValue
        response.protocolType = result.protocolType
        response.protocolName = result.protocolName
        response.assignment = result.assignment
        return response
    }
}
