import SamsaBinary

/// The server-side assignors of KIP-848 consumer groups: "uniform" (the default) and "range".
/// Both are pure functions of the members' subscriptions, the topics and (for stickiness) the
/// previous target assignment.
public enum ConsumerGroupAssignor {
    /// One member as an assignor sees it.
    public struct Subscriber: Sendable {
        public var memberId: String
        /// Subscribed topics that exist.
        public var topics: Set<KafkaUUID>
        /// The member's previous target assignment.
        public var previous: PartitionAssignment

        public init(memberId: String, topics: Set<KafkaUUID>, previous: PartitionAssignment = .empty) {
            self.memberId = memberId
            self.topics = topics
            self.previous = previous
        }
    }

    public static let names: Set<String> = ["uniform", "range"]

    /// Runs the assignor called `name` (nil for an unknown name).
    public static func assign(
        _ name: String, members: [Subscriber], partitionCounts: [KafkaUUID: Int32]
    ) -> [String: PartitionAssignment]? {
        switch name {
        case "uniform": return uniform(members: members, partitionCounts: partitionCounts)
        case "range": return range(members: members, partitionCounts: partitionCounts)
        default: return nil
        }
    }

    /// Spreads every subscribed partition so that members subscribed to it differ by at most
    /// one partition where their subscriptions allow, keeping partitions where they were.
    ///
    /// Partitions stay with their previous owner if it still subscribes; the rest go, one by
    /// one, to the least loaded candidate; then partitions move from the most to the least
    /// loaded candidates until no move narrows a gap of two or more.
    public static func uniform(members: [Subscriber], partitionCounts: [KafkaUUID: Int32]) -> [String: PartitionAssignment] {
        let sortedMembers = members.sorted { $0.memberId < $1.memberId }
        var result: [String: PartitionAssignment] = [:]
        var load: [String: Int] = [:]
        var owner: [KafkaUUID: [Int32: String]] = [:]
        for member in sortedMembers {
            result[member.memberId] = .empty
            load[member.memberId] = 0
        }
        let topicIds = partitionCounts.keys.sorted()
        var candidates: [KafkaUUID: [String]] = [:]
        for id in topicIds {
            candidates[id] = sortedMembers.filter { $0.topics.contains(id) }.map(\.memberId)
        }
        // Sticky: keep previous partitions that still exist and are still subscribed.
        for member in sortedMembers {
            for (topicId, partition) in member.previous.sorted
            where member.topics.contains(topicId) && partition < partitionCounts[topicId, default: 0] && owner[topicId]?[partition] == nil {
                owner[topicId, default: [:]][partition] = member.memberId
                result[member.memberId]!.insert(topicId, partition)
                load[member.memberId]! += 1
            }
        }
        // New partitions go to the least loaded candidate.
        for topicId in topicIds {
            let topicCandidates = candidates[topicId] ?? []
            guard !topicCandidates.isEmpty else { continue }
            for partition in 0..<partitionCounts[topicId, default: 0] where owner[topicId]?[partition] == nil {
                let chosen = topicCandidates.min { (load[$0]!, $0) < (load[$1]!, $1) }!
                owner[topicId, default: [:]][partition] = chosen
                result[chosen]!.insert(topicId, partition)
                load[chosen]! += 1
            }
        }
        // Balance: move partitions from loaded members to candidates with two fewer.
        var moved = true
        var budget = partitionCounts.values.reduce(0) { $0 + Int($1) } * max(1, sortedMembers.count)
        while moved && budget > 0 {
            moved = false
            let byLoad = sortedMembers.map(\.memberId).sorted { (load[$0]!, $0) > (load[$1]!, $1) }
            search: for giver in byLoad {
                for (topicId, partition) in result[giver]!.sorted.reversed() {
                    guard let receiver = (candidates[topicId] ?? []).min(by: { (load[$0]!, $0) < (load[$1]!, $1) }),
                        load[receiver]! + 2 <= load[giver]!
                    else { continue }
                    result[giver]!.remove(topicId, partition)
                    result[receiver]!.insert(topicId, partition)
                    load[giver]! -= 1
                    load[receiver]! += 1
                    moved = true
                    budget -= 1
                    break search
                }
            }
        }
        return result
    }

    /// Kafka's range assignment per topic: the members subscribed to a topic, in member id
    /// order, each get a contiguous range; the first `count % members` get one more.
    public static func range(members: [Subscriber], partitionCounts: [KafkaUUID: Int32]) -> [String: PartitionAssignment] {
        let sortedMembers = members.sorted { $0.memberId < $1.memberId }
        var result: [String: PartitionAssignment] = [:]
        for member in sortedMembers { result[member.memberId] = .empty }
        for topicId in partitionCounts.keys.sorted() {
            let subscribed = sortedMembers.filter { $0.topics.contains(topicId) }
            guard !subscribed.isEmpty else { continue }
            let count = Int(partitionCounts[topicId]!)
            let quota = count / subscribed.count
            let extra = count % subscribed.count
            var next = 0
            for (index, member) in subscribed.enumerated() {
                let size = quota + (index < extra ? 1 : 0)
                for partition in next..<(next + size) {
                    result[member.memberId]!.insert(topicId, Int32(partition))
                }
                next += size
            }
        }
        return result
    }
}
