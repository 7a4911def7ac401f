import NIOCore
import SamsaProtocol

extension ClassicGroup {
    /// Starts a rebalance unless one is already waiting for joins.
    mutating func maybePrepareRebalance(now: Int64) -> [ClassicGroupAction] {
        switch state {
        case .stable, .completingRebalance, .empty: return prepareRebalance(now: now)
        case .preparingRebalance, .dead: return []
        }
    }

    /// Enters PreparingRebalance: pending SyncGroups fail with REBALANCE_IN_PROGRESS, and the
    /// join phase gets its deadline (the initial delay for a group that was empty).
    mutating func prepareRebalance(now: Int64) -> [ClassicGroupAction] {
        var actions: [ClassicGroupAction] = []
        if state == .completingRebalance {
            actions += failPendingSyncs(.rebalanceInProgress)
        }
        pendingSyncMembers.removeAll()
        syncDeadline = nil
        let timeout = rebalanceTimeoutMs
        if state == .empty && settings.initialRebalanceDelayMs > 0 {
            let delay = min(settings.initialRebalanceDelayMs, timeout)
            initialDelay = (remainingMs: timeout - delay, memberJoined: false)
            joinDeadline = now + delay
        } else {
            initialDelay = nil
            joinDeadline = now + timeout
        }
        transition(to: .preparingRebalance, now: now)
        return actions + tryCompleteJoin(now: now)
    }

    /// Answers every waiting SyncGroup with `error` and clears the assignments.
    mutating func failPendingSyncs(_ error: ErrorCode) -> [ClassicGroupAction] {
        var actions: [ClassicGroupAction] = []
        for id in memberOrder {
            members[id]?.assignment = ByteBuffer()
            if members[id]?.isAwaitingSync == true {
                members[id]?.isAwaitingSync = false
                actions.append(.completeSync(memberId: id, ClassicSyncResult(errorCode: error)))
            }
        }
        return actions
    }

    /// Completes the join phase if everyone has rejoined (never during the initial delay).
    mutating func tryCompleteJoin(now: Int64) -> [ClassicGroupAction] {
        guard state == .preparingRebalance, initialDelay == nil, hasAllMembersJoined else { return [] }
        return completeJoin(now: now)
    }

    /// Ends the join phase: members that did not rejoin are dropped, the generation is bumped,
    /// and every member gets its JoinGroup answer (the leader with everyone's metadata).
    mutating func completeJoin(now: Int64) -> [ClassicGroupAction] {
        precondition(state == .preparingRebalance, "join completed in state \(state)")
        var actions: [ClassicGroupAction] = []
        for member in orderedMembers where !member.isAwaitingJoin {
            actions += removeMember(member.memberId, now: now, updateGroup: false)
        }
        joinDeadline = nil
        initialDelay = nil
        generationId &+= 1
        guard !members.isEmpty else {
            protocolName = nil
            leaderId = nil
            transition(to: .empty, now: now)
            actions.append(.storeGroup(snapshot(), pendingAssignment: nil))
            return actions
        }
        protocolName = selectProtocol()
        if leaderId.map({ members[$0] == nil }) ?? true {
            leaderId = memberOrder.first
        }
        transition(to: .completingRebalance, now: now)
        pendingSyncMembers = Set(memberOrder)
        syncDeadline = now + rebalanceTimeoutMs
        for id in memberOrder {
            members[id]?.isAwaitingJoin = false
            renewSession(id, now: now)
            actions.append(.completeJoin(memberId: id, joinResult(for: id)))
        }
        return actions
    }

    /// Removes a member, failing its waiting requests with UNKNOWN_MEMBER_ID; with
    /// `updateGroup`, starts a rebalance (or completes the one waiting on it).
    mutating func removeMember(_ memberId: String, now: Int64, updateGroup: Bool = true) -> [ClassicGroupAction] {
        guard let member = members.removeValue(forKey: memberId) else { return [] }
        memberOrder.removeAll { $0 == memberId }
        if let instance = member.groupInstanceId, staticMembers[instance] == memberId {
            staticMembers[instance] = nil
        }
        pendingSyncMembers.remove(memberId)
        var actions: [ClassicGroupAction] = []
        if member.isAwaitingJoin {
            actions.append(.completeJoin(memberId: memberId, Self.joinError(.unknownMemberId, memberId: memberId)))
        }
        if member.isAwaitingSync {
            actions.append(.completeSync(memberId: memberId, ClassicSyncResult(errorCode: .unknownMemberId)))
        }
        if leaderId == memberId {
            // Prefer a member that already rejoined, so the next generation's leader is alive.
            leaderId = orderedMembers.first(where: \.isAwaitingJoin)?.memberId ?? memberOrder.first
        }
        guard updateGroup else { return actions }
        switch state {
        case .stable, .completingRebalance: actions += prepareRebalance(now: now)
        case .preparingRebalance: actions += tryCompleteJoin(now: now)
        case .empty, .dead: break
        }
        return actions
    }

    /// The earliest time ``expire(now:)`` has something to do, or nil.
    public var nextDeadline: Int64? {
        var deadlines: [Int64] = Array(pendingMembers.values)
        deadlines += members.values.filter(\.canExpire).map(\.heartbeatDeadline)
        if state == .preparingRebalance, let joinDeadline { deadlines.append(joinDeadline) }
        if let syncDeadline, !pendingSyncMembers.isEmpty { deadlines.append(syncDeadline) }
        return deadlines.min()
    }

    /// Applies every timeout due at `now`: members that stopped heartbeating, new members that
    /// never rejoined, the end of the join phase (or of one step of the initial delay), and
    /// members that did not sync in time.
    public mutating func expire(now: Int64) -> [ClassicGroupAction] {
        var actions: [ClassicGroupAction] = []
        for (id, deadline) in pendingMembers.sorted(by: { $0.key < $1.key }) where deadline <= now {
            pendingMembers[id] = nil
            actions += tryCompleteJoin(now: now)
        }
        for member in orderedMembers where member.canExpire && member.heartbeatDeadline <= now {
            actions += removeMember(member.memberId, now: now)
        }
        if state == .preparingRebalance, let deadline = joinDeadline, deadline <= now {
            if let delay = initialDelay, delay.memberJoined, delay.remainingMs > 0 {
                let step = min(settings.initialRebalanceDelayMs, delay.remainingMs)
                initialDelay = (remainingMs: delay.remainingMs - step, memberJoined: false)
                joinDeadline = now + step
            } else {
                initialDelay = nil
                actions += completeJoin(now: now)
            }
        }
        if let deadline = syncDeadline, deadline <= now {
            syncDeadline = nil
            let late = memberOrder.filter { pendingSyncMembers.contains($0) }
            pendingSyncMembers.removeAll()
            if state == .completingRebalance || state == .stable {
                for id in late {
                    actions += removeMember(id, now: now)
                }
            }
        }
        return actions
    }
}
