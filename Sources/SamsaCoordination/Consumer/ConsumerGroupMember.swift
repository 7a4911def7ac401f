import SamsaBinary

/// One member of a KIP-848 consumer group and where it stands in reconciling towards its
/// target assignment.
public struct ConsumerGroupMember: Sendable, Hashable {
    /// Where a member is in reconciliation, as Kafka's `MemberState`.
    public enum ReconciliationState: String, Sendable, Hashable {
        /// It owns exactly its target assignment (for the member epoch it has).
        case stable
        /// It must first give up ``ConsumerGroupMember/partitionsPendingRevocation``.
        case unrevokedPartitions
        /// Some of its target partitions are still owned by other members.
        case unreleasedPartitions
    }

    public var memberId: String
    public var instanceId: String?
    public var rackId: String?
    public var clientId: String
    public var clientHost: String
    public var rebalanceTimeoutMs: Int32
    public var subscribedTopicNames: [String]
    public var subscribedTopicRegex: String?
    public var serverAssignor: String?
    public internal(set) var memberEpoch: Int32
    public internal(set) var previousMemberEpoch: Int32
    public internal(set) var state: ReconciliationState = .stable
    /// The partitions the member was told to own.
    public internal(set) var assignedPartitions = PartitionAssignment.empty
    /// Partitions it still owns but must give up before it gets anything new.
    public internal(set) var partitionsPendingRevocation = PartitionAssignment.empty
    /// When the member is removed unless it heartbeats.
    public internal(set) var sessionDeadline: Int64
    /// When the member is removed unless it has revoked ``partitionsPendingRevocation``.
    public internal(set) var revocationDeadline: Int64?
    /// A static member that left with epoch -2: it keeps its partitions until its session
    /// ends or its instance id rejoins.
    public var hasLeftTemporarily: Bool { memberEpoch == ConsumerHeartbeatRequest.staticLeaveEpoch }

    init(memberId: String, request: ConsumerHeartbeatRequest, sessionDeadline: Int64) {
        self.memberId = memberId
        instanceId = request.instanceId
        rackId = request.rackId
        clientId = request.clientId
        clientHost = request.clientHost
        rebalanceTimeoutMs = request.rebalanceTimeoutMs
        subscribedTopicNames = (request.subscribedTopicNames ?? []).sorted()
        subscribedTopicRegex = request.subscribedTopicRegex
        serverAssignor = request.serverAssignor
        memberEpoch = 0
        previousMemberEpoch = 0
        self.sessionDeadline = sessionDeadline
    }

    /// The partitions the member may still consume: assigned plus pending revocation.
    public var ownedOrPending: PartitionAssignment { assignedPartitions.union(partitionsPendingRevocation) }

    /// Moves the member one step towards `target` (Kafka's `CurrentAssignmentBuilder`).
    ///
    /// Revoke before assign: while the member owns partitions outside its target it keeps its
    /// epoch and is only told to keep the rest. Once it has revoked them (its heartbeat's
    /// owned partitions no longer include them), it moves to `targetEpoch` and gets the
    /// target partitions that nobody else owns; the others follow once their owners let go.
    mutating func reconcile(
        target: PartitionAssignment, targetEpoch: Int32, owned: PartitionAssignment?,
        ownedByOthers: (KafkaUUID, Int32) -> Bool, now: Int64
    ) {
        switch state {
        case .stable:
            guard memberEpoch != targetEpoch else { return }
        case .unrevokedPartitions:
            let stillOwned = owned.map { !$0.intersection(partitionsPendingRevocation).isEmpty } ?? true
            if stillOwned { return }
            partitionsPendingRevocation = .empty
            revocationDeadline = nil
        case .unreleasedPartitions:
            break
        }
        let kept = assignedPartitions.intersection(target)
        let revoke = assignedPartitions.subtracting(target)
        if !revoke.isEmpty {
            assignedPartitions = kept
            partitionsPendingRevocation = revoke
            state = .unrevokedPartitions
            revocationDeadline = now + Int64(rebalanceTimeoutMs)
            return
        }
        var assigned = kept
        var unreleased = false
        for (topicId, partition) in target.subtracting(kept).sorted {
            if ownedByOthers(topicId, partition) {
                unreleased = true
            } else {
                assigned.insert(topicId, partition)
            }
        }
        assignedPartitions = assigned
        if memberEpoch != targetEpoch {
            previousMemberEpoch = memberEpoch
            memberEpoch = targetEpoch
        }
        state = unreleased ? .unreleasedPartitions : .stable
    }
}
