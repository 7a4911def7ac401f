import SamsaBinary
import SamsaCoordination
import SamsaProtocol

/// Drives a ``ConsumerGroup`` as clients would: members heartbeat with what they own, and
/// own what the last answer assigned them.
struct ConsumerGroupHarness {
    static let topicT = KafkaUUID(mostSignificantBits: 1, leastSignificantBits: 1)
    static let topicU = KafkaUUID(mostSignificantBits: 2, leastSignificantBits: 2)

    var group: ConsumerGroup
    var topics: ConsumerGroupTopics
    var now: Int64 = 1_000_000
    /// Each member's epoch and owned partitions, as its client knows them.
    var epochs: [String: Int32] = [:]
    var owned: [String: PartitionAssignment] = [:]

    init(partitions: Int32 = 6, settings: ConsumerGroupSettings = ConsumerGroupSettings(sessionTimeoutMs: 1_000)) {
        group = ConsumerGroup(groupId: "g", settings: settings, now: now)
        topics = ConsumerGroupTopics([
            ConsumerGroupTopic(name: "t", id: Self.topicT, partitionCount: partitions),
            ConsumerGroupTopic(name: "u", id: Self.topicU, partitionCount: 2),
        ])
    }

    static func partitions(_ list: [Int32], topic: KafkaUUID = topicT) -> PartitionAssignment {
        PartitionAssignment([topic: Set(list)])
    }

    /// A first heartbeat (epoch 0) that is validated as the coordinator does.
    @discardableResult
    mutating func join(
        _ memberId: String, topics names: [String]? = ["t"], regex: String? = nil, assignor: String? = nil, instance: String? = nil
    ) -> ConsumerHeartbeatResult {
        let request = ConsumerHeartbeatRequest(
            memberId: memberId, memberEpoch: 0, instanceId: instance, rebalanceTimeoutMs: 5_000,
            subscribedTopicNames: names, subscribedTopicRegex: regex, serverAssignor: assignor, ownedPartitions: .empty
        )
        return send(request)
    }

    /// A heartbeat with the member's current epoch and owned partitions.
    @discardableResult
    mutating func heartbeat(_ memberId: String, epoch: Int32? = nil, owned: PartitionAssignment? = nil) -> ConsumerHeartbeatResult {
        let request = ConsumerHeartbeatRequest(
            memberId: memberId, memberEpoch: epoch ?? epochs[memberId] ?? 0, ownedPartitions: owned ?? self.owned[memberId] ?? .empty
        )
        return send(request)
    }

    @discardableResult
    mutating func send(_ request: ConsumerHeartbeatRequest) -> ConsumerHeartbeatResult {
        if let error = ConsumerGroup.validate(request, memberIdRequired: true, settings: group.settings) {
            return error
        }
        let result = group.heartbeat(request, topics: topics, now: now)
        if result.errorCode == .noError && result.memberEpoch >= 0 {
            epochs[request.memberId] = result.memberEpoch
            if let assignment = result.assignment {
                owned[request.memberId] = assignment
            }
        }
        return result
    }

    /// Heartbeats every member (in id order) until the group is stable; false if it is not
    /// after `rounds` rounds.
    mutating func converge(rounds: Int = 10) -> Bool {
        for _ in 0..<rounds {
            if group.state == .stable { return true }
            for id in group.members.keys.sorted() {
                heartbeat(id)
            }
        }
        return group.state == .stable
    }

    mutating func advance(_ ms: Int64) {
        now += ms
    }

    /// The partitions every member owns, for checking nobody shares one.
    var allOwned: [(KafkaUUID, Int32)] {
        owned.values.flatMap { $0.sorted.map { ($0.topicId, $0.partition) } }
    }
}
