import NIOCore

/// One protocol a member supports (for consumers: an assignor name and the subscription).
public struct ClassicGroupProtocol: Sendable, Hashable {
    /// The protocol name, such as "range" or "cooperative-sticky".
    public var name: String
    /// The member's metadata for this protocol, opaque to the coordinator.
    public var metadata: ByteBuffer

    public init(name: String, metadata: ByteBuffer) {
        self.name = name
        self.metadata = metadata
    }
}

/// A member of a classic group as the coordinator tracks it.
public struct ClassicGroupMember: Sendable, Hashable {
    /// The id the coordinator gave the member.
    public var memberId: String
    /// The static member id (`group.instance.id`), or nil for a dynamic member.
    public var groupInstanceId: String?
    public var clientId: String
    /// The member's address as Kafka shows it ("/127.0.0.1").
    public var clientHost: String
    public var sessionTimeoutMs: Int32
    public var rebalanceTimeoutMs: Int32
    public var protocolType: String
    /// The protocols the member supports, in its order of preference.
    public var protocols: [ClassicGroupProtocol]
    /// The member's assignment in the current generation (empty until the leader's is stored).
    public var assignment: ByteBuffer

    /// A JoinGroup of this member waits for the rebalance to end.
    public internal(set) var isAwaitingJoin = false
    /// A SyncGroup of this member waits for the leader's assignment.
    public internal(set) var isAwaitingSync = false
    /// Whether the member's JoinGroup can carry `SkipAssignment` (v9+).
    var supportsSkippingAssignment = false
    /// When the member is removed unless it heartbeats (ignored while a request of it waits).
    var heartbeatDeadline: Int64 = 0

    public init(
        memberId: String, groupInstanceId: String?, clientId: String, clientHost: String,
        sessionTimeoutMs: Int32, rebalanceTimeoutMs: Int32, protocolType: String,
        protocols: [ClassicGroupProtocol], assignment: ByteBuffer = ByteBuffer()
    ) {
        self.memberId = memberId
        self.groupInstanceId = groupInstanceId
        self.clientId = clientId
        self.clientHost = clientHost
        self.sessionTimeoutMs = sessionTimeoutMs
        self.rebalanceTimeoutMs = rebalanceTimeoutMs
        self.protocolType = protocolType
        self.protocols = protocols
        self.assignment = assignment
    }

    /// The member's metadata for `protocol`, or empty bytes if it does not support it.
    public func metadata(for protocolName: String?) -> ByteBuffer {
        protocols.first { $0.name == protocolName }?.metadata ?? ByteBuffer()
    }

    /// Whether `protocols` are exactly the ones this member joined with (same names, order and
    /// metadata): a rejoin with them changes nothing.
    func hasSameProtocols(as protocols: [ClassicGroupProtocol]) -> Bool {
        self.protocols == protocols
    }

    /// Whether a session expiry applies now: members with a waiting JoinGroup or SyncGroup are
    /// kept alive, since the coordinator holds their request.
    var canExpire: Bool { !isAwaitingJoin && !isAwaitingSync }
}
