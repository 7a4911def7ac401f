import NIOCore
import SamsaCoordination
import SamsaProtocol

extension GroupCoordinator {
    /// A JoinGroup: answered at once (errors, MEMBER_ID_REQUIRED, a rejoin that changes
    /// nothing) or when the rebalance it takes part in completes.
    package func joinGroup(groupId: String, _ request: ClassicJoinRequest) async -> ClassicJoinResult {
        guard !isShutDown else { return ClassicJoinResult(errorCode: .notCoordinator, memberId: request.memberId) }
        guard !groupId.isEmpty else { return ClassicJoinResult(errorCode: .invalidGroupId, memberId: request.memberId) }
        guard await ensureOffsetsTopic() else {
            return ClassicJoinResult(errorCode: .coordinatorNotAvailable, memberId: request.memberId)
        }
        let now = self.now
        if let consumer = consumerGroups[groupId] {
            // No online migration: an empty consumer group becomes a classic one.
            guard consumer.members.isEmpty else {
                return ClassicJoinResult(errorCode: .inconsistentGroupProtocol, memberId: request.memberId)
            }
            consumerGroups[groupId] = nil
        }
        if groups[groupId] == nil {
            guard request.memberId.isEmpty else {
                return ClassicJoinResult(errorCode: .unknownMemberId, memberId: request.memberId)
            }
            if let error = ClassicGroup.validateJoin(request, settings: configuration.classic) {
                return ClassicJoinResult(errorCode: error, memberId: request.memberId)
            }
            groups[groupId] = ClassicGroup(groupId: groupId, settings: configuration.classic, now: now)
        }
        let newMemberId = makeMemberId(clientId: request.clientId)
        let (reply, actions) = groups[groupId]!.join(request, newMemberId: newMemberId, now: now)
        perform(actions, groupId: groupId)
        switch reply {
        case .respond(let result):
            return result
        case .wait(let memberId):
            return await waitForJoin(groupId: groupId, memberId: memberId)
        }
    }

    /// A SyncGroup: followers wait for the leader; everyone gets the assignment once the
    /// leader's is durable.
    package func syncGroup(groupId: String, _ request: ClassicSyncRequest) async -> ClassicSyncResult {
        guard !isShutDown else { return ClassicSyncResult(errorCode: .notCoordinator) }
        guard !groupId.isEmpty else { return ClassicSyncResult(errorCode: .invalidGroupId) }
        guard groups[groupId] != nil else { return ClassicSyncResult(errorCode: .unknownMemberId) }
        let (reply, actions) = groups[groupId]!.sync(request, now: now)
        perform(actions, groupId: groupId)
        switch reply {
        case .respond(let result):
            return result
        case .wait(let memberId):
            return await waitForSync(groupId: groupId, memberId: memberId)
        }
    }

    /// A Heartbeat.
    package func heartbeat(groupId: String, memberId: String, groupInstanceId: String?, generationId: Int32) -> ErrorCode {
        guard !isShutDown else { return .notCoordinator }
        guard !groupId.isEmpty else { return .invalidGroupId }
        guard groups[groupId] != nil else { return .unknownMemberId }
        let error = groups[groupId]!.heartbeat(memberId: memberId, groupInstanceId: groupInstanceId, generationId: generationId, now: now)
        scheduleTimer()
        return error
    }

    /// A LeaveGroup: a group-level error and one error per member.
    package func leaveGroup(groupId: String, members: [ClassicLeavingMember]) -> (ErrorCode, [ErrorCode]) {
        guard !isShutDown else { return (.notCoordinator, []) }
        guard !groupId.isEmpty else { return (.invalidGroupId, []) }
        guard groups[groupId] != nil else {
            return (.noError, Array(repeating: .unknownMemberId, count: members.count))
        }
        let (errors, actions) = groups[groupId]!.leave(members, now: now)
        perform(actions, groupId: groupId)
        if groups[groupId]!.state == .dead {
            return (.coordinatorNotAvailable, errors)
        }
        return (.noError, errors)
    }
}
