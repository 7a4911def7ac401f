import NIOCore
import SamsaProtocol

/// The coordinator settings a classic group obeys (Kafka's `group.*` broker configs).
public struct ClassicGroupSettings: Sendable, Hashable {
    /// `group.initial.rebalance.delay.ms`: how long the first rebalance of an empty group waits
    /// for more members, extended by as much again for each member that joins meanwhile, never
    /// past the rebalance timeout.
    public var initialRebalanceDelayMs: Int64
    /// `group.min.session.timeout.ms` and `group.max.session.timeout.ms`.
    public var minSessionTimeoutMs: Int32
    public var maxSessionTimeoutMs: Int32
    /// `group.max.size`: members a group may have.
    public var maxSize: Int

    public init(
        initialRebalanceDelayMs: Int64 = 300, minSessionTimeoutMs: Int32 = 6_000,
        maxSessionTimeoutMs: Int32 = 1_800_000, maxSize: Int = Int(Int32.max)
    ) {
        self.initialRebalanceDelayMs = initialRebalanceDelayMs
        self.minSessionTimeoutMs = minSessionTimeoutMs
        self.maxSessionTimeoutMs = maxSessionTimeoutMs
        self.maxSize = maxSize
    }
}

/// A JoinGroup as the state machine sees it.
public struct ClassicJoinRequest: Sendable {
    /// The member id, or empty for a new member.
    public var memberId: String
    public var groupInstanceId: String?
    public var clientId: String
    public var clientHost: String
    public var sessionTimeoutMs: Int32
    /// The rebalance timeout (v0 has none: the session timeout is used, as Kafka does).
    public var rebalanceTimeoutMs: Int32
    public var protocolType: String
    public var protocols: [ClassicGroupProtocol]
    /// v4+: a new dynamic member first gets MEMBER_ID_REQUIRED and must join again with that id.
    public var requiresKnownMemberId: Bool
    /// v9+: the leader of a stable group that rejoins statically may be told to skip assignment.
    public var supportsSkippingAssignment: Bool

    public init(
        memberId: String, groupInstanceId: String? = nil, clientId: String = "", clientHost: String = "",
        sessionTimeoutMs: Int32, rebalanceTimeoutMs: Int32, protocolType: String, protocols: [ClassicGroupProtocol],
        requiresKnownMemberId: Bool = true, supportsSkippingAssignment: Bool = false
    ) {
        self.memberId = memberId
        self.groupInstanceId = groupInstanceId
        self.clientId = clientId
        self.clientHost = clientHost
        self.sessionTimeoutMs = sessionTimeoutMs
        self.rebalanceTimeoutMs = rebalanceTimeoutMs
        self.protocolType = protocolType
        self.protocols = protocols
        self.requiresKnownMemberId = requiresKnownMemberId
        self.supportsSkippingAssignment = supportsSkippingAssignment
    }
}

/// The answer to a JoinGroup.
public struct ClassicJoinResult: Sendable, Hashable {
    /// One member's metadata, sent to the leader.
    public struct Member: Sendable, Hashable {
        public var memberId: String
        public var groupInstanceId: String?
        public var metadata: ByteBuffer
    }

    public var errorCode: ErrorCode
    public var generationId: Int32 = -1
    public var protocolType: String?
    public var protocolName: String?
    public var leaderId: String = ""
    public var memberId: String
    /// Every member with its metadata for the chosen protocol; only the leader gets them.
    public var members: [Member] = []
    public var skipAssignment = false

    public init(errorCode: ErrorCode, memberId: String) {
        self.errorCode = errorCode
        self.memberId = memberId
    }
}

/// A SyncGroup as the state machine sees it.
public struct ClassicSyncRequest: Sendable {
    public var memberId: String
    public var groupInstanceId: String?
    public var generationId: Int32
    /// v5+: checked against the group's when present.
    public var protocolType: String?
    public var protocolName: String?
    /// The leader's assignment by member id; empty from followers.
    public var assignments: [String: ByteBuffer]

    public init(
        memberId: String, groupInstanceId: String? = nil, generationId: Int32, protocolType: String? = nil,
        protocolName: String? = nil, assignments: [String: ByteBuffer] = [:]
    ) {
        self.memberId = memberId
        self.groupInstanceId = groupInstanceId
        self.generationId = generationId
        self.protocolType = protocolType
        self.protocolName = protocolName
        self.assignments = assignments
    }
}

/// The answer to a SyncGroup.
public struct ClassicSyncResult: Sendable, Hashable {
    public var errorCode: ErrorCode
    public var protocolType: String?
    public var protocolName: String?
    public var assignment: ByteBuffer = ByteBuffer()

    public init(errorCode: ErrorCode, protocolType: String? = nil, protocolName: String? = nil, assignment: ByteBuffer = ByteBuffer()) {
        self.errorCode = errorCode
        self.protocolType = protocolType
        self.protocolName = protocolName
        self.assignment = assignment
    }
}

/// What a JoinGroup or SyncGroup gets at once: an answer, or a wait for a later
/// ``ClassicGroupAction`` addressed to the member.
public enum ClassicReply<Result: Sendable>: Sendable {
    case respond(Result)
    /// The request waits; the answer comes as an action for this member id.
    case wait(memberId: String)
}

/// What the owner of a group must do after an event. The state machine does no I/O: it asks.
public enum ClassicGroupAction: Sendable {
    /// Answer the waiting JoinGroup of `memberId`.
    case completeJoin(memberId: String, ClassicJoinResult)
    /// Answer the waiting SyncGroup of `memberId`.
    case completeSync(memberId: String, ClassicSyncResult)
    /// Persist the group's metadata. When `pendingAssignment` is set (the leader's SyncGroup),
    /// call ``ClassicGroup/assignmentStored(generationId:assignments:errorCode:now:)`` once
    /// the write is done, so the members get their assignment only after it is durable.
    case storeGroup(ClassicGroupSnapshot, pendingAssignment: [String: ByteBuffer]?)
}
