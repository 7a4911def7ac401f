import SamsaBinary
import SamsaProtocol

/// The settings of KIP-848 consumer groups, named after Kafka's broker configs.
public struct ConsumerGroupSettings: Sendable, Hashable {
    /// `group.consumer.session.timeout.ms`: a member that does not heartbeat for this long is
    /// removed and its partitions go to the others.
    public var sessionTimeoutMs: Int32
    /// `group.consumer.heartbeat.interval.ms`. Kafka's default is 5000; members only learn of a
    /// new target assignment, and acknowledge revocations, when they heartbeat, so a moved
    /// partition waits for up to two intervals. 1000 ms keeps rebalances around a second on a
    /// single broker, where a heartbeat costs next to nothing.
    public var heartbeatIntervalMs: Int32
    /// `group.consumer.max.size`.
    public var maxSize: Int
    /// `group.consumer.assignors`: the first is the default.
    public var assignors: [String]

    public init(
        sessionTimeoutMs: Int32 = 45_000, heartbeatIntervalMs: Int32 = 1_000, maxSize: Int = Int(Int32.max),
        assignors: [String] = ["uniform", "range"]
    ) {
        self.sessionTimeoutMs = sessionTimeoutMs
        self.heartbeatIntervalMs = heartbeatIntervalMs
        self.maxSize = maxSize
        self.assignors = assignors
    }
}

/// What the group knows of a topic for assignment: its id and partition count.
public struct ConsumerGroupTopic: Sendable, Hashable {
    public var name: String
    public var id: KafkaUUID
    public var partitionCount: Int32

    public init(name: String, id: KafkaUUID, partitionCount: Int32) {
        self.name = name
        self.id = id
        self.partitionCount = partitionCount
    }
}

/// The topics that exist, by name (internal topics left out: no subscription matches them).
public struct ConsumerGroupTopics: Sendable {
    public var byName: [String: ConsumerGroupTopic]
    public var byId: [KafkaUUID: ConsumerGroupTopic]

    public init(_ topics: [ConsumerGroupTopic]) {
        byName = Dictionary(topics.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
        byId = Dictionary(topics.map { ($0.id, $0) }, uniquingKeysWith: { first, _ in first })
    }
}

/// A ConsumerGroupHeartbeat request, as the group sees it.
public struct ConsumerHeartbeatRequest: Sendable {
    public var memberId: String
    public var memberEpoch: Int32
    public var instanceId: String?
    public var rackId: String?
    public var rebalanceTimeoutMs: Int32
    public var subscribedTopicNames: [String]?
    public var subscribedTopicRegex: String?
    public var serverAssignor: String?
    /// The partitions the member owns now, or nil if unchanged since its last heartbeat.
    public var ownedPartitions: PartitionAssignment?
    public var clientId: String
    public var clientHost: String

    public init(
        memberId: String, memberEpoch: Int32, instanceId: String? = nil, rackId: String? = nil,
        rebalanceTimeoutMs: Int32 = -1, subscribedTopicNames: [String]? = nil, subscribedTopicRegex: String? = nil,
        serverAssignor: String? = nil, ownedPartitions: PartitionAssignment? = nil,
        clientId: String = "", clientHost: String = ""
    ) {
        self.memberId = memberId
        self.memberEpoch = memberEpoch
        self.instanceId = instanceId
        self.rackId = rackId
        self.rebalanceTimeoutMs = rebalanceTimeoutMs
        self.subscribedTopicNames = subscribedTopicNames
        self.subscribedTopicRegex = subscribedTopicRegex
        self.serverAssignor = serverAssignor
        self.ownedPartitions = ownedPartitions
        self.clientId = clientId
        self.clientHost = clientHost
    }

    /// Epoch -1: the member leaves the group.
    public static let leaveEpoch: Int32 = -1
    /// Epoch -2: a static member leaves for now and keeps its partitions until its session ends.
    public static let staticLeaveEpoch: Int32 = -2
}

/// The answer to a ConsumerGroupHeartbeat.
public struct ConsumerHeartbeatResult: Sendable, Equatable {
    public var errorCode: ErrorCode
    public var errorMessage: String?
    public var memberId: String
    public var memberEpoch: Int32
    public var heartbeatIntervalMs: Int32
    /// The partitions the member should own now, or nil when unchanged.
    public var assignment: PartitionAssignment?

    public init(
        errorCode: ErrorCode, errorMessage: String? = nil, memberId: String, memberEpoch: Int32 = 0,
        heartbeatIntervalMs: Int32 = 0, assignment: PartitionAssignment? = nil
    ) {
        self.errorCode = errorCode
        self.errorMessage = errorMessage
        self.memberId = memberId
        self.memberEpoch = memberEpoch
        self.heartbeatIntervalMs = heartbeatIntervalMs
        self.assignment = assignment
    }

    static func error(_ code: ErrorCode, _ message: String? = nil, memberId: String, epoch: Int32 = 0) -> Self {
        ConsumerHeartbeatResult(errorCode: code, errorMessage: message, memberId: memberId, memberEpoch: epoch)
    }
}

/// The states of a consumer group, named as Kafka names them (ListGroups and
/// ConsumerGroupDescribe show these strings).
public enum ConsumerGroupState: String, Sendable, Hashable, CaseIterable {
    /// No members; the group may still hold committed offsets.
    case empty = "Empty"
    /// The group epoch moved past the target assignment's: a new one is due.
    case assigning = "Assigning"
    /// Some member has not reached the target assignment yet.
    case reconciling = "Reconciling"
    /// Every member owns its target assignment.
    case stable = "Stable"
    /// The group is being removed.
    case dead = "Dead"
}
