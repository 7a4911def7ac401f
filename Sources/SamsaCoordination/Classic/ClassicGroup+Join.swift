import NIOCore
import SamsaProtocol

extension ClassicGroup {
    /// Validates a JoinGroup before the group is looked up: the session timeout bounds.
    public static func validateJoin(_ request: ClassicJoinRequest, settings: ClassicGroupSettings) -> ErrorCode? {
        if request.sessionTimeoutMs < settings.minSessionTimeoutMs || request.sessionTimeoutMs > settings.maxSessionTimeoutMs {
            return .invalidSessionTimeout
        }
        return nil
    }

    /// A JoinGroup. `newMemberId` is the id to give the member if it is new (the owner makes
    /// it, as Kafka does, from the client id and a random UUID).
    public mutating func join(
        _ request: ClassicJoinRequest, newMemberId: String, now: Int64
    ) -> (reply: ClassicReply<ClassicJoinResult>, actions: [ClassicGroupAction]) {
        if state == .dead {
            return (.respond(Self.joinError(.coordinatorNotAvailable, memberId: request.memberId)), [])
        }
        if let error = Self.validateJoin(request, settings: settings) {
            return (.respond(Self.joinError(error, memberId: request.memberId)), [])
        }
        return request.memberId.isEmpty ? joinNewMember(request, memberId: newMemberId, now: now) : joinKnownMember(request, now: now)
    }

    private mutating func joinNewMember(
        _ request: ClassicJoinRequest, memberId: String, now: Int64
    ) -> (reply: ClassicReply<ClassicJoinResult>, actions: [ClassicGroupAction]) {
        guard supports(protocolType: request.protocolType, protocols: request.protocols) else {
            return (.respond(Self.joinError(.inconsistentGroupProtocol, memberId: request.memberId)), [])
        }
        if let instance = request.groupInstanceId, let previous = staticMembers[instance] {
            return replaceStaticMember(previous, with: memberId, request: request, now: now)
        }
        guard members.count + pendingMembers.count < settings.maxSize else {
            return (.respond(Self.joinError(.groupMaxSizeReached, memberId: request.memberId)), [])
        }
        if request.groupInstanceId == nil && request.requiresKnownMemberId {
            // KIP-394: the member must come back with this id, so a retried first join cannot
            // leave a ghost member behind.
            pendingMembers[memberId] = now + Int64(request.sessionTimeoutMs)
            return (.respond(Self.joinError(.memberIdRequired, memberId: memberId)), [])
        }
        return addMemberAndRebalance(request, memberId: memberId, now: now)
    }

    private mutating func joinKnownMember(
        _ request: ClassicJoinRequest, now: Int64
    ) -> (reply: ClassicReply<ClassicJoinResult>, actions: [ClassicGroupAction]) {
        let memberId = request.memberId
        if pendingMembers[memberId] != nil {
            guard supports(protocolType: request.protocolType, protocols: request.protocols) else {
                return (.respond(Self.joinError(.inconsistentGroupProtocol, memberId: memberId)), [])
            }
            pendingMembers[memberId] = nil
            return addMemberAndRebalance(request, memberId: memberId, now: now)
        }
        if isStaticMemberFenced(groupInstanceId: request.groupInstanceId, memberId: memberId) {
            return (.respond(Self.joinError(.fencedInstanceId, memberId: memberId)), [])
        }
        guard let member = members[memberId] else {
            return (.respond(Self.joinError(.unknownMemberId, memberId: memberId)), [])
        }
        guard supports(protocolType: request.protocolType, protocols: request.protocols, ignoring: memberId) else {
            return (.respond(Self.joinError(.inconsistentGroupProtocol, memberId: memberId)), [])
        }
        switch state {
        case .preparingRebalance:
            return updateMemberAndRebalance(request, now: now)
        case .completingRebalance:
            // A member whose JoinGroup answer was lost asks again: same answer, no rebalance.
            if member.hasSameProtocols(as: request.protocols) {
                renewSession(memberId, now: now)
                return (.respond(joinResult(for: memberId)), [])
            }
            return updateMemberAndRebalance(request, now: now)
        case .stable:
            // The leader rejoins to reassign (say, after a metadata change); followers with
            // unchanged metadata just get the current generation back.
            if memberId == leaderId || !member.hasSameProtocols(as: request.protocols) {
                return updateMemberAndRebalance(request, now: now)
            }
            renewSession(memberId, now: now)
            return (.respond(joinResult(for: memberId)), [])
        case .empty, .dead:
            return (.respond(Self.joinError(.unknownMemberId, memberId: memberId)), [])
        }
    }

    private mutating func addMemberAndRebalance(
        _ request: ClassicJoinRequest, memberId: String, now: Int64
    ) -> (reply: ClassicReply<ClassicJoinResult>, actions: [ClassicGroupAction]) {
        var member = ClassicGroupMember(
            memberId: memberId, groupInstanceId: request.groupInstanceId, clientId: request.clientId,
            clientHost: request.clientHost, sessionTimeoutMs: request.sessionTimeoutMs,
            rebalanceTimeoutMs: request.rebalanceTimeoutMs, protocolType: request.protocolType, protocols: request.protocols
        )
        member.isAwaitingJoin = true
        member.supportsSkippingAssignment = request.supportsSkippingAssignment
        member.heartbeatDeadline = now + Int64(request.sessionTimeoutMs)
        insert(member)
        if state == .preparingRebalance, initialDelay != nil {
            initialDelay?.memberJoined = true
        }
        var actions = maybePrepareRebalance(now: now)
        if state == .preparingRebalance {
            actions += tryCompleteJoin(now: now)
        }
        return (.wait(memberId: memberId), actions)
    }

    private mutating func updateMemberAndRebalance(
        _ request: ClassicJoinRequest, now: Int64
    ) -> (reply: ClassicReply<ClassicJoinResult>, actions: [ClassicGroupAction]) {
        let memberId = request.memberId
        var actions: [ClassicGroupAction] = []
        if members[memberId]?.isAwaitingJoin == true {
            // A second JoinGroup replaces the first; the first is answered so it does not hang.
            actions.append(.completeJoin(memberId: memberId, Self.joinError(.rebalanceInProgress, memberId: memberId)))
        }
        members[memberId]?.protocols = request.protocols
        members[memberId]?.sessionTimeoutMs = request.sessionTimeoutMs
        members[memberId]?.rebalanceTimeoutMs = request.rebalanceTimeoutMs
        members[memberId]?.clientId = request.clientId
        members[memberId]?.clientHost = request.clientHost
        members[memberId]?.supportsSkippingAssignment = request.supportsSkippingAssignment
        members[memberId]?.isAwaitingJoin = true
        members[memberId]?.heartbeatDeadline = now + Int64(request.sessionTimeoutMs)
        actions += maybePrepareRebalance(now: now)
        if state == .preparingRebalance {
            actions += tryCompleteJoin(now: now)
        }
        return (.wait(memberId: memberId), actions)
    }

    /// KIP-345: a static member restarted and joined with an empty member id. It takes over the
    /// old member's place (and assignment) under a new id; the old id is fenced. A stable group
    /// with unchanged metadata does not rebalance.
    private mutating func replaceStaticMember(
        _ oldMemberId: String, with newMemberId: String, request: ClassicJoinRequest, now: Int64
    ) -> (reply: ClassicReply<ClassicJoinResult>, actions: [ClassicGroupAction]) {
        guard var member = members.removeValue(forKey: oldMemberId) else {
            preconditionFailure("static member \(oldMemberId) missing from the group")
        }
        var actions: [ClassicGroupAction] = []
        if member.isAwaitingJoin {
            actions.append(.completeJoin(memberId: oldMemberId, Self.joinError(.fencedInstanceId, memberId: oldMemberId)))
        }
        if member.isAwaitingSync {
            actions.append(.completeSync(memberId: oldMemberId, ClassicSyncResult(errorCode: .fencedInstanceId)))
        }
        let unchanged = member.hasSameProtocols(as: request.protocols) && member.protocolType == request.protocolType
        member.memberId = newMemberId
        member.isAwaitingJoin = false
        member.isAwaitingSync = false
        member.clientId = request.clientId
        member.clientHost = request.clientHost
        member.sessionTimeoutMs = request.sessionTimeoutMs
        member.rebalanceTimeoutMs = request.rebalanceTimeoutMs
        member.supportsSkippingAssignment = request.supportsSkippingAssignment
        member.heartbeatDeadline = now + Int64(request.sessionTimeoutMs)
        memberOrder = memberOrder.map { $0 == oldMemberId ? newMemberId : $0 }
        members[newMemberId] = member
        staticMembers[request.groupInstanceId!] = newMemberId
        if pendingSyncMembers.remove(oldMemberId) != nil {
            pendingSyncMembers.insert(newMemberId)
        }
        let isLeader = leaderId == oldMemberId
        if isLeader {
            leaderId = newMemberId
        }
        if state == .stable && unchanged {
            // Nobody rebalances. A returning static leader learns the members; with KIP-814
            // (JoinGroup v9) it is told to skip the assignment, and without it the assignment
            // it sends is ignored in the stable group (SyncGroup answers the current one), as
            // in Kafka.
            actions.append(.storeGroup(snapshot(), pendingAssignment: nil))
            return (.respond(joinResult(for: newMemberId, skipAssignment: isLeader && request.supportsSkippingAssignment)), actions)
        }
        var rejoin = request
        rejoin.memberId = newMemberId
        let (reply, more) = updateMemberAndRebalance(rejoin, now: now)
        return (reply, actions + more)
    }
}
