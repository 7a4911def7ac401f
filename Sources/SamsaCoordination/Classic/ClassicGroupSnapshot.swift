import NIOCore

/// What a classic group keeps across coordinator restarts (Kafka's GroupMetadataValue): the
/// generation, protocol, leader and each member with its subscription and assignment.
public struct ClassicGroupSnapshot: Sendable, Hashable {
    /// One member as persisted.
    public struct Member: Sendable, Hashable {
        public var memberId: String
        public var groupInstanceId: String?
        public var clientId: String
        public var clientHost: String
        public var rebalanceTimeoutMs: Int32
        public var sessionTimeoutMs: Int32
        /// The member's metadata for the chosen protocol.
        public var subscription: ByteBuffer
        public var assignment: ByteBuffer

        public init(
            memberId: String, groupInstanceId: String?, clientId: String, clientHost: String,
            rebalanceTimeoutMs: Int32, sessionTimeoutMs: Int32, subscription: ByteBuffer, assignment: ByteBuffer
        ) {
            self.memberId = memberId
            self.groupInstanceId = groupInstanceId
            self.clientId = clientId
            self.clientHost = clientHost
            self.rebalanceTimeoutMs = rebalanceTimeoutMs
            self.sessionTimeoutMs = sessionTimeoutMs
            self.subscription = subscription
            self.assignment = assignment
        }
    }

    public var protocolType: String
    public var generationId: Int32
    public var protocolName: String?
    public var leaderId: String?
    /// When the group entered its current state, in ms since the epoch (retention counts from
    /// the moment a group became empty).
    public var currentStateTimestamp: Int64
    public var members: [Member]

    public init(
        protocolType: String, generationId: Int32, protocolName: String?, leaderId: String?,
        currentStateTimestamp: Int64, members: [Member]
    ) {
        self.protocolType = protocolType
        self.generationId = generationId
        self.protocolName = protocolName
        self.leaderId = leaderId
        self.currentStateTimestamp = currentStateTimestamp
        self.members = members
    }
}

extension ClassicGroup {
    /// The group as it should be persisted now; `assignments` overrides the members' current
    /// assignments (the leader's SyncGroup, stored before it takes effect).
    public func snapshot(assignments: [String: ByteBuffer]? = nil) -> ClassicGroupSnapshot {
        ClassicGroupSnapshot(
            protocolType: protocolType ?? "", generationId: generationId, protocolName: protocolName,
            leaderId: leaderId, currentStateTimestamp: currentStateTimestamp,
            members: orderedMembers.map { member in
                ClassicGroupSnapshot.Member(
                    memberId: member.memberId, groupInstanceId: member.groupInstanceId, clientId: member.clientId,
                    clientHost: member.clientHost, rebalanceTimeoutMs: member.rebalanceTimeoutMs,
                    sessionTimeoutMs: member.sessionTimeoutMs, subscription: member.metadata(for: protocolName),
                    assignment: assignments.map { $0[member.memberId] ?? ByteBuffer() } ?? member.assignment
                )
            }
        )
    }

    /// Rebuilds a group from its persisted form, as a coordinator does when it loads
    /// `__consumer_offsets`: Stable with the stored members (each must heartbeat within its
    /// session timeout from `now`, or is removed), or Empty when none are stored.
    public init(groupId: String, restoring snapshot: ClassicGroupSnapshot, settings: ClassicGroupSettings, now: Int64) {
        self.init(groupId: groupId, settings: settings, now: snapshot.currentStateTimestamp)
        protocolType = snapshot.protocolType.isEmpty ? nil : snapshot.protocolType
        generationId = snapshot.generationId
        protocolName = snapshot.protocolName
        for stored in snapshot.members {
            var member = ClassicGroupMember(
                memberId: stored.memberId, groupInstanceId: stored.groupInstanceId, clientId: stored.clientId,
                clientHost: stored.clientHost, sessionTimeoutMs: stored.sessionTimeoutMs,
                rebalanceTimeoutMs: stored.rebalanceTimeoutMs, protocolType: snapshot.protocolType,
                protocols: [ClassicGroupProtocol(name: snapshot.protocolName ?? "", metadata: stored.subscription)],
                assignment: stored.assignment
            )
            member.heartbeatDeadline = now + Int64(stored.sessionTimeoutMs)
            insert(member)
        }
        leaderId = snapshot.leaderId.flatMap { members[$0] == nil ? nil : $0 } ?? memberOrder.first
        state = members.isEmpty ? .empty : .stable
    }
}
