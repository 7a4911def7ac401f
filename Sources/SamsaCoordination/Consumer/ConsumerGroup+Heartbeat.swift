import SamsaBinary
import SamsaProtocol

extension ConsumerGroup {
    /// Kafka's checks of a heartbeat before the group is looked at: INVALID_REQUEST for a
    /// missing member id (v1 clients make their own), a first heartbeat without rebalance
    /// timeout or subscription or with owned partitions, a static leave without instance id, an
    /// epoch below -2; INVALID_REGULAR_EXPRESSION, UNSUPPORTED_ASSIGNOR.
    public static func validate(
        _ request: ConsumerHeartbeatRequest, memberIdRequired: Bool, settings: ConsumerGroupSettings
    ) -> ConsumerHeartbeatResult? {
        func invalid(_ message: String) -> ConsumerHeartbeatResult {
            .error(.invalidRequest, message, memberId: request.memberId)
        }
        if request.memberId.isEmpty && (memberIdRequired || request.memberEpoch != 0) {
            return invalid("MemberId can't be empty.")
        }
        if request.rackId?.isEmpty == true { return invalid("RackId can't be empty.") }
        switch request.memberEpoch {
        case 0:
            if request.rebalanceTimeoutMs == -1 { return invalid("RebalanceTimeoutMs must be provided in first request.") }
            if request.ownedPartitions.map({ !$0.isEmpty }) ?? true {
                return invalid("TopicPartitions must be empty when (re-)joining.")
            }
            if request.subscribedTopicNames == nil && request.subscribedTopicRegex == nil {
                return invalid("Either SubscribedTopicNames or SubscribedTopicRegex must be non-null when (re-)joining.")
            }
        case ConsumerHeartbeatRequest.staticLeaveEpoch:
            if request.instanceId == nil { return invalid("InstanceId can't be null.") }
        case ..<ConsumerHeartbeatRequest.staticLeaveEpoch:
            return invalid("MemberEpoch is invalid.")
        default:
            break
        }
        if let pattern = request.subscribedTopicRegex, !pattern.isEmpty, (try? Regex(pattern)) == nil {
            return .error(
                .invalidRegularExpression, "SubscribedTopicRegex \(pattern) is not a valid regular expression.", memberId: request.memberId)
        }
        if let assignor = request.serverAssignor, !settings.assignors.contains(assignor) {
            return .error(.unsupportedAssignor, "ServerAssignor \(assignor) is not supported.", memberId: request.memberId)
        }
        return nil
    }

    /// A ConsumerGroupHeartbeat of a validated request (see ``validate(_:memberIdRequired:settings:)``).
    /// `request.memberId` is the id to use for a joining member (v0: made by the coordinator).
    public mutating func heartbeat(_ request: ConsumerHeartbeatRequest, topics: ConsumerGroupTopics, now: Int64) -> ConsumerHeartbeatResult
    {
        defer { updateState(now: now) }
        let memberId = request.memberId
        if request.memberEpoch < 0 {
            return leave(request, now: now)
        }
        var member: ConsumerGroupMember
        var bump = false
        if request.memberEpoch == 0 {
            if let instance = request.instanceId, let current = staticMembers[instance], current != memberId {
                guard let previous = members[current], previous.hasLeftTemporarily else {
                    return .error(.unreleasedInstanceId, "Static member \(instance) is still in use.", memberId: memberId)
                }
                // The new process takes the static member's place and target assignment over.
                members[current] = nil
                targetAssignment[memberId] = targetAssignment.removeValue(forKey: current)
                member = ConsumerGroupMember(memberId: memberId, request: request, sessionDeadline: now)
                bump =
                    previous.subscribedTopicNames != member.subscribedTopicNames
                    || previous.subscribedTopicRegex != member.subscribedTopicRegex
                    || previous.serverAssignor != member.serverAssignor
            } else if let existing = members[memberId] {
                member = existing
            } else {
                guard members.count < settings.maxSize else {
                    return .error(.groupMaxSizeReached, "The group has reached its maximum size.", memberId: memberId)
                }
                member = ConsumerGroupMember(memberId: memberId, request: request, sessionDeadline: now)
                bump = true
            }
        } else {
            guard let existing = members[memberId] else {
                return .error(.unknownMemberId, "Member \(memberId) is not a member of group \(groupId).", memberId: memberId)
            }
            if let instance = request.instanceId, staticMembers[instance] != memberId {
                return .error(.fencedInstanceId, "Static member \(instance) was replaced.", memberId: memberId)
            }
            if let error = checkEpoch(request, of: existing) { return error }
            member = existing
        }
        bump = update(&member, from: request) || bump
        member.sessionDeadline = now + Int64(settings.sessionTimeoutMs)
        members[memberId] = member
        if let instance = member.instanceId { staticMembers[instance] = memberId }

        let resolved = resolveSubscriptions(topics).all
        if resolved != subscribedTopics {
            subscribedTopics = resolved
            bump = true
        }
        if bump { groupEpoch += 1 }
        if groupEpoch > assignmentEpoch { computeTargetAssignment(topics) }

        let before = member.assignedPartitions
        let others = ownersOtherThan(memberId)
        member.reconcile(
            target: targetAssignment[memberId] ?? .empty, targetEpoch: assignmentEpoch, owned: request.ownedPartitions,
            ownedByOthers: { others[$0]?.contains($1) ?? false }, now: now
        )
        members[memberId] = member
        let isFullRequest =
            request.rebalanceTimeoutMs != -1 && request.ownedPartitions != nil
            && (request.subscribedTopicNames != nil || request.subscribedTopicRegex != nil)
        let sendAssignment =
            request.memberEpoch == 0 || isFullRequest || before != member.assignedPartitions
            || request.ownedPartitions.map { $0 != member.assignedPartitions && member.state == .stable } == true
        return ConsumerHeartbeatResult(
            errorCode: .noError, memberId: memberId, memberEpoch: member.memberEpoch,
            heartbeatIntervalMs: settings.heartbeatIntervalMs, assignment: sendAssignment ? member.assignedPartitions : nil
        )
    }

    /// FENCED_MEMBER_EPOCH unless the epoch is the member's, or its previous one while the
    /// member owns nothing it was not given (its last answer was lost).
    private func checkEpoch(_ request: ConsumerHeartbeatRequest, of member: ConsumerGroupMember) -> ConsumerHeartbeatResult? {
        let epoch = request.memberEpoch
        if epoch == member.memberEpoch { return nil }
        if epoch < member.memberEpoch, epoch == member.previousMemberEpoch,
            let owned = request.ownedPartitions, owned.isSubset(of: member.assignedPartitions)
        {
            return nil
        }
        return .error(
            .fencedMemberEpoch, "The member epoch \(epoch) does not match the expected \(member.memberEpoch).",
            memberId: request.memberId
        )
    }

    /// Applies what the heartbeat changes; true if the group epoch must move.
    private func update(_ member: inout ConsumerGroupMember, from request: ConsumerHeartbeatRequest) -> Bool {
        var changed = false
        if let names = request.subscribedTopicNames?.sorted(), names != member.subscribedTopicNames {
            member.subscribedTopicNames = names
            changed = true
        }
        if let pattern = request.subscribedTopicRegex {
            let value: String? = pattern.isEmpty ? nil : pattern
            if value != member.subscribedTopicRegex {
                member.subscribedTopicRegex = value
                changed = true
            }
        }
        if let assignor = request.serverAssignor, assignor != member.serverAssignor {
            member.serverAssignor = assignor
            changed = true
        }
        if let rack = request.rackId { member.rackId = rack }
        if request.rebalanceTimeoutMs != -1 { member.rebalanceTimeoutMs = request.rebalanceTimeoutMs }
        if !request.clientId.isEmpty { member.clientId = request.clientId }
        if !request.clientHost.isEmpty { member.clientHost = request.clientHost }
        return changed
    }

    /// Epoch -1 removes the member; -2 (static members) keeps its partitions until its session
    /// ends or its instance id rejoins.
    private mutating func leave(_ request: ConsumerHeartbeatRequest, now: Int64) -> ConsumerHeartbeatResult {
        var memberId = request.memberId
        if let instance = request.instanceId {
            guard let current = staticMembers[instance] else {
                return .error(.unknownMemberId, "Static member \(instance) is unknown.", memberId: memberId)
            }
            guard current == memberId else {
                return .error(.fencedInstanceId, "Static member \(instance) was replaced.", memberId: memberId)
            }
            memberId = current
        }
        guard var member = members[memberId] else {
            return .error(.unknownMemberId, "Member \(memberId) is not a member of group \(groupId).", memberId: memberId)
        }
        if request.memberEpoch == ConsumerHeartbeatRequest.staticLeaveEpoch {
            member.previousMemberEpoch = member.memberEpoch
            member.memberEpoch = ConsumerHeartbeatRequest.staticLeaveEpoch
            members[memberId] = member
        } else {
            removeMember(memberId, now: now)
        }
        return ConsumerHeartbeatResult(
            errorCode: .noError, memberId: memberId, memberEpoch: request.memberEpoch, heartbeatIntervalMs: 0
        )
    }

    /// Kafka's checks of an OffsetCommit for a consumer group: commits from outside the group
    /// (epoch < 0) only while it is empty; otherwise the member must exist
    /// (UNKNOWN_MEMBER_ID), use OffsetCommit v9+ (UNSUPPORTED_VERSION) and send its current
    /// epoch or the one before it (STALE_MEMBER_EPOCH): the previous epoch is accepted since a
    /// commit racing a heartbeat that only bumped the epoch is for partitions it still owns.
    public func validateOffsetCommit(memberId: String, memberEpoch: Int32, apiVersion: Int16) -> ErrorCode {
        if memberEpoch < 0 && members.isEmpty { return .noError }
        guard let member = members[memberId] else { return .unknownMemberId }
        guard apiVersion >= 9 else { return .unsupportedVersion }
        guard memberEpoch == member.memberEpoch || memberEpoch == member.previousMemberEpoch else { return .staleMemberEpoch }
        return .noError
    }
}
