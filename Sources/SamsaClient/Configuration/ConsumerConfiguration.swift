import SamsaCoordination

/// Which records a consumer reads in transactional topics (`isolation.level`).
public enum IsolationLevel: Int8, Sendable {
    /// Every record, including those of open and aborted transactions.
    case readUncommitted = 0
    /// Only records of committed transactions (and non-transactional ones), up to the last stable offset.
    case readCommitted = 1
}

/// Where a consumer starts when it has no valid position (`auto.offset.reset`).
public enum OffsetReset: Sendable {
    case earliest
    case latest
    /// Fail with OFFSET_OUT_OF_RANGE instead.
    case none
}

/// How a consumer takes part in its group (`group.protocol`).
public enum GroupProtocol: Sendable {
    /// JoinGroup/SyncGroup: the members' leader assigns, every rebalance stops the group.
    case classic
    /// KIP-848 (ConsumerGroupHeartbeat): the coordinator assigns, members reconcile one at a time.
    case consumer
}

/// A consumer's settings, with Kafka's defaults and names.
public struct ConsumerConfiguration: Sendable {
    public var client: ClientConfiguration
    /// `group.id`: the consumer group to commit offsets in (and, with `subscribe`, to share partitions with).
    public var groupId: String?
    /// `isolation.level`; read_uncommitted by default, as in Kafka.
    public var isolationLevel: IsolationLevel = .readUncommitted
    /// `auto.offset.reset`.
    public var autoOffsetReset: OffsetReset = .latest
    /// `fetch.min.bytes`.
    public var fetchMinBytes: Int32 = 1
    /// `fetch.max.bytes`.
    public var fetchMaxBytes: Int32 = 52_428_800
    /// `max.partition.fetch.bytes`.
    public var maxPartitionFetchBytes: Int32 = 1_048_576
    /// `fetch.max.wait.ms`.
    public var fetchMaxWaitMs: Int32 = 500
    /// Fetch through incremental fetch sessions (KIP-227) where the broker offers them: after a
    /// first full fetch, requests name only the partitions whose offset moved and answers only
    /// the partitions with news. Off, every fetch names every partition (franz-go's
    /// `DisableFetchSessions`, kafka-python's `enable_incremental_fetch_sessions`).
    public var fetchSessions = true
    /// How many bytes of fetched records may wait for the application before fetching pauses;
    /// compressed batches count with their decompressed size, the memory their records hold.
    public var maxBufferedBytes = 64 * 1024 * 1024
    /// `enable.auto.commit`.
    public var enableAutoCommit = true
    /// `auto.commit.interval.ms`.
    public var autoCommitIntervalMs: Int64 = 5_000
    /// `group.instance.id`: a static member id (KIP-345); a restart within the session
    /// timeout gets the same partitions back without a rebalance.
    public var groupInstanceId: String?
    /// `session.timeout.ms`.
    public var sessionTimeoutMs: Int32 = 45_000
    /// `heartbeat.interval.ms`.
    public var heartbeatIntervalMs: Int64 = 3_000
    /// `max.poll.interval.ms`: the rebalance timeout sent in JoinGroup.
    public var maxPollIntervalMs: Int32 = 300_000
    /// `group.protocol`: classic (default) or consumer (KIP-848).
    public var groupProtocol: GroupProtocol = .classic
    /// `partition.assignment.strategy`: the assignors offered, preferred first.
    public var assignors: [any ClientAssignor] = [RangeAssignor(), RoundRobinAssignor()]

    public init(client: ClientConfiguration, groupId: String? = nil) {
        self.client = client
        self.groupId = groupId
    }

    /// Builds a configuration from Kafka's property names: `bootstrap.servers` (required),
    /// `group.id`, `isolation.level`, `auto.offset.reset`, `fetch.min.bytes`,
    /// `fetch.max.bytes`, `max.partition.fetch.bytes`, `fetch.max.wait.ms`,
    /// `enable.auto.commit`, `auto.commit.interval.ms`, `group.instance.id`,
    /// `session.timeout.ms`, `heartbeat.interval.ms`, `max.poll.interval.ms`,
    /// `group.protocol`, `partition.assignment.strategy` (`range`, `roundrobin`), and the
    /// client properties.
    public init(properties: [String: String]) throws {
        var unknown = Set<String>()
        try self.init(properties: properties, unknown: &unknown)
        try KafkaProperties.refuse(unknown: unknown)
    }

    /// Builds a configuration from the properties a consumer knows and puts the names of the
    /// others in `unknown`, for a tool that hands one set of properties to several kinds of
    /// clients (each property must then be known to one of them).
    public init(properties: [String: String], unknown: inout Set<String>) throws {
        var reader = KafkaProperties(properties)
        self.init(client: try reader.client(), groupId: reader.string("group.id"))
        if let value = reader.string("isolation.level") {
            switch value.trimmingSpaces {
            case "read_committed": isolationLevel = .readCommitted
            case "read_uncommitted": isolationLevel = .readUncommitted
            default: throw SamsaClientError.invalidConfiguration("isolation.level: '\(value)' is not read_committed or read_uncommitted")
            }
        }
        if let value = reader.string("auto.offset.reset") {
            switch value.trimmingSpaces {
            case "earliest", "smallest", "beginning": autoOffsetReset = .earliest
            case "latest", "largest", "end": autoOffsetReset = .latest
            case "none", "error": autoOffsetReset = .none
            default: throw SamsaClientError.invalidConfiguration("auto.offset.reset: '\(value)' is not earliest, latest or none")
            }
        }
        if let value = try reader.int("fetch.min.bytes") { fetchMinBytes = Int32(clamping: value) }
        if let value = try reader.int("fetch.max.bytes") { fetchMaxBytes = Int32(clamping: value) }
        if let value = try reader.int("max.partition.fetch.bytes") { maxPartitionFetchBytes = Int32(clamping: value) }
        if let value = try reader.int("fetch.max.wait.ms") { fetchMaxWaitMs = Int32(clamping: value) }
        if let value = try reader.bool("enable.auto.commit") { enableAutoCommit = value }
        if let value = try reader.int("auto.commit.interval.ms") { autoCommitIntervalMs = value }
        if let value = reader.string("group.instance.id") { groupInstanceId = value }
        if let value = reader.string("group.protocol") {
            switch value.trimmingSpaces.lowercased() {
            case "classic": groupProtocol = .classic
            case "consumer": groupProtocol = .consumer
            default: throw SamsaClientError.invalidConfiguration("group.protocol: '\(value)' is not classic or consumer")
            }
        }
        if let value = try reader.int("session.timeout.ms") { sessionTimeoutMs = Int32(clamping: value) }
        if let value = try reader.int("heartbeat.interval.ms") { heartbeatIntervalMs = value }
        if let value = try reader.int("max.poll.interval.ms") { maxPollIntervalMs = Int32(clamping: value) }
        if let value = reader.string("partition.assignment.strategy") {
            assignors = try value.split(separator: ",").map { name -> any ClientAssignor in
                switch name.trimmingSpaces.lowercased() {
                case "range", "org.apache.kafka.clients.consumer.rangeassignor": return RangeAssignor()
                case "roundrobin", "org.apache.kafka.clients.consumer.roundrobinassignor": return RoundRobinAssignor()
                case "cooperative-sticky", "org.apache.kafka.clients.consumer.cooperativestickyassignor": return CooperativeStickyAssignor()
                default:
                    throw SamsaClientError.invalidConfiguration(
                        "partition.assignment.strategy: '\(name)' is not range, roundrobin or cooperative-sticky")
                }
            }
        }
        unknown = reader.unusedNames
    }
}
