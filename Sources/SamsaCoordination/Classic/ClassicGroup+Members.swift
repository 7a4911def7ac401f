import NIOCore
import SamsaProtocol

/// A member named in a LeaveGroup.
public struct ClassicLeavingMember: Sendable, Hashable {
    /// The member id; may be empty when a static member is named by instance id.
    public var memberId: String
    public var groupInstanceId: String?

    public init(memberId: String, groupInstanceId: String? = nil) {
        self.memberId = memberId
        self.groupInstanceId = groupInstanceId
    }
}

extension ClassicGroup {
    /// A SyncGroup. Followers wait for the leader; the leader's assignment comes back as a
    /// ``ClassicGroupAction/storeGroup(_:pendingAssignment:)`` to persist first.
    public mutating func sync(
        _ request: ClassicSyncRequest, now: Int64
    ) -> (reply: ClassicReply<ClassicSyncResult>, actions: [ClassicGroupAction]) {
        if let error = validateMember(request.memberId, groupInstanceId: request.groupInstanceId, generationId: request.generationId) {
            return (.respond(ClassicSyncResult(errorCode: error)), [])
        }
        if let type = request.protocolType, type != protocolType {
            return (.respond(ClassicSyncResult(errorCode: .inconsistentGroupProtocol)), [])
        }
        if let name = request.protocolName, name != protocolName {
            return (.respond(ClassicSyncResult(errorCode: .inconsistentGroupProtocol)), [])
        }
        let memberId = request.memberId
        switch state {
        case .preparingRebalance:
            return (.respond(ClassicSyncResult(errorCode: .rebalanceInProgress)), [])
        case .completingRebalance:
            var actions: [ClassicGroupAction] = []
            if members[memberId]!.isAwaitingSync {
                actions.append(.completeSync(memberId: memberId, ClassicSyncResult(errorCode: .rebalanceInProgress)))
            }
            members[memberId]!.isAwaitingSync = true
            renewSession(memberId, now: now)
            pendingSyncMembers.remove(memberId)
            if memberId == leaderId {
                let assignments = request.assignments.filter { members[$0.key] != nil }
                actions.append(.storeGroup(snapshot(assignments: assignments), pendingAssignment: assignments))
            }
            return (.wait(memberId: memberId), actions)
        case .stable:
            pendingSyncMembers.remove(memberId)
            renewSession(memberId, now: now)
            return (.respond(syncResult(for: memberId)), [])
        case .empty, .dead:
            return (.respond(ClassicSyncResult(errorCode: .unknownMemberId)), [])
        }
    }

    /// The leader's assignment of `generationId` was persisted (or failed with `errorCode`):
    /// waiting members get their assignment and the group becomes Stable, unless a rebalance
    /// started meanwhile.
    public mutating func assignmentStored(
        generationId: Int32, assignments: [String: ByteBuffer], errorCode: ErrorCode, now: Int64
    ) -> [ClassicGroupAction] {
        guard state == .completingRebalance, generationId == self.generationId else { return [] }
        guard errorCode == .noError else {
            return failPendingSyncs(errorCode) + maybePrepareRebalance(now: now)
        }
        var actions: [ClassicGroupAction] = []
        for id in memberOrder {
            members[id]!.assignment = assignments[id] ?? ByteBuffer()
        }
        transition(to: .stable, now: now)
        for id in memberOrder where members[id]!.isAwaitingSync {
            members[id]!.isAwaitingSync = false
            renewSession(id, now: now)
            actions.append(.completeSync(memberId: id, syncResult(for: id)))
        }
        return actions
    }

    func syncResult(for memberId: String) -> ClassicSyncResult {
        ClassicSyncResult(
            errorCode: .noError, protocolType: protocolType, protocolName: protocolName,
            assignment: members[memberId]?.assignment ?? ByteBuffer()
        )
    }

    /// The checks SyncGroup, Heartbeat and OffsetCommit share, in Kafka's order.
    func validateMember(_ memberId: String, groupInstanceId: String?, generationId: Int32) -> ErrorCode? {
        if state == .dead { return .coordinatorNotAvailable }
        if isStaticMemberFenced(groupInstanceId: groupInstanceId, memberId: memberId) { return .fencedInstanceId }
        if members[memberId] == nil { return .unknownMemberId }
        if generationId != self.generationId { return .illegalGeneration }
        return nil
    }

    /// A Heartbeat: renews the member's session. REBALANCE_IN_PROGRESS tells it to rejoin.
    public mutating func heartbeat(memberId: String, groupInstanceId: String?, generationId: Int32, now: Int64) -> ErrorCode {
        if state == .empty { return .unknownMemberId }
        if let error = validateMember(memberId, groupInstanceId: groupInstanceId, generationId: generationId) {
            return error
        }
        renewSession(memberId, now: now)
        return state == .preparingRebalance ? .rebalanceInProgress : .noError
    }

    /// A LeaveGroup: one error per member named, and the actions of the rebalance it starts.
    public mutating func leave(_ leaving: [ClassicLeavingMember], now: Int64) -> (errors: [ErrorCode], actions: [ClassicGroupAction]) {
        guard state != .dead else {
            return (Array(repeating: .coordinatorNotAvailable, count: leaving.count), [])
        }
        var errors: [ErrorCode] = []
        var actions: [ClassicGroupAction] = []
        for member in leaving {
            if let instance = member.groupInstanceId {
                guard let current = staticMembers[instance] else {
                    errors.append(.unknownMemberId)
                    continue
                }
                if !member.memberId.isEmpty && member.memberId != current {
                    errors.append(.fencedInstanceId)
                    continue
                }
                actions += removeMember(current, now: now)
                errors.append(.noError)
            } else if pendingMembers.removeValue(forKey: member.memberId) != nil {
                actions += tryCompleteJoin(now: now)
                errors.append(.noError)
            } else if members[member.memberId] != nil {
                actions += removeMember(member.memberId, now: now)
                errors.append(.noError)
            } else {
                errors.append(.unknownMemberId)
            }
        }
        return (errors, actions)
    }

    /// Whether an OffsetCommit with this generation and member may commit, in Kafka's order of
    /// checks. A commit from outside group management (generation -1, no member) is allowed
    /// while the group is Empty, as Kafka allows it for standalone consumers.
    public mutating func validateOffsetCommit(memberId: String, groupInstanceId: String?, generationId: Int32, now: Int64) -> ErrorCode {
        if state == .dead { return .coordinatorNotAvailable }
        if isStaticMemberFenced(groupInstanceId: groupInstanceId, memberId: memberId) { return .fencedInstanceId }
        if generationId < 0 && state == .empty { return .noError }
        if state == .completingRebalance { return .rebalanceInProgress }
        guard let member = members[memberId] else { return .unknownMemberId }
        if generationId != self.generationId { return .illegalGeneration }
        members[memberId]!.heartbeatDeadline = now + Int64(member.sessionTimeoutMs)
        return .noError
    }

    /// Marks the group dead (deleted, or expired with no offsets left). Waiting requests are
    /// answered with COORDINATOR_NOT_AVAILABLE so their clients look the coordinator up again.
    public mutating func markDead(now: Int64) -> [ClassicGroupAction] {
        var actions: [ClassicGroupAction] = []
        for member in orderedMembers {
            if member.isAwaitingJoin {
                actions.append(
                    .completeJoin(memberId: member.memberId, Self.joinError(.coordinatorNotAvailable, memberId: member.memberId)))
            }
            if member.isAwaitingSync {
                actions.append(.completeSync(memberId: member.memberId, ClassicSyncResult(errorCode: .coordinatorNotAvailable)))
            }
        }
        members.removeAll()
        memberOrder.removeAll()
        staticMembers.removeAll()
        pendingMembers.removeAll()
        pendingSyncMembers.removeAll()
        joinDeadline = nil
        syncDeadline = nil
        initialDelay = nil
        transition(to: .dead, now: now)
        return actions
    }
}
