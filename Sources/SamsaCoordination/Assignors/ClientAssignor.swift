/// A member of a classic consumer group, as the group leader sees it when it assigns.
public struct AssignorMember: Hashable, Sendable {
    public var memberId: String
    public var groupInstanceId: String?
    public var subscription: ConsumerProtocol.Subscription

    public init(memberId: String, groupInstanceId: String?, subscription: ConsumerProtocol.Subscription) {
        self.memberId = memberId
        self.groupInstanceId = groupInstanceId
        self.subscription = subscription
    }

    /// Java's `MemberInfo` order: static members first, by instance id, then dynamic ones by
    /// member id.
    static func javaOrder(_ lhs: AssignorMember, _ rhs: AssignorMember) -> Bool {
        switch (lhs.groupInstanceId, rhs.groupInstanceId) {
        case (let left?, let right?): left < right
        case (.some, nil): true
        case (nil, .some): false
        case (nil, nil): lhs.memberId < rhs.memberId
        }
    }
}

/// A client-side partition assignor of the classic protocol (`partition.assignment.strategy`):
/// the group leader runs it over every member's subscription and the topics' partition counts.
public protocol ClientAssignor: Sendable {
    /// The protocol name members agree on in JoinGroup (`range`, `roundrobin`, ...).
    var name: String { get }
    /// Member id → topic → partitions. Every member gets an entry, possibly empty.
    func assign(members: [AssignorMember], partitionCounts: [String: Int]) -> [String: [String: [Int32]]]
}

/// Java's `RangeAssignor` (and librdkafka's `range`): per topic, the members subscribed to it,
/// in Java's member order, each take a contiguous range; the first `count % members` take one
/// more.
public struct RangeAssignor: ClientAssignor {
    public var name: String { "range" }

    public init() {}

    public func assign(members: [AssignorMember], partitionCounts: [String: Int]) -> [String: [String: [Int32]]] {
        var result = Dictionary(uniqueKeysWithValues: members.map { ($0.memberId, [String: [Int32]]()) })
        let ordered = members.sorted(by: AssignorMember.javaOrder)
        let topics = Set(members.flatMap(\.subscription.topics)).sorted()
        for topic in topics {
            guard let count = partitionCounts[topic], count > 0 else { continue }
            let consumers = ordered.filter { $0.subscription.topics.contains(topic) }
            let perMember = count / consumers.count
            let extra = count % consumers.count
            for (index, member) in consumers.enumerated() {
                let start = perMember * index + min(index, extra)
                let length = perMember + (index < extra ? 1 : 0)
                guard length > 0 else { continue }
                result[member.memberId]![topic] = (start..<start + length).map { Int32($0) }
            }
        }
        return result
    }
}

/// Java's `RoundRobinAssignor`: every subscribed partition, by topic then partition, goes to
/// the next member (in Java's member order, round the circle) that subscribes to its topic.
public struct RoundRobinAssignor: ClientAssignor {
    public var name: String { "roundrobin" }

    public init() {}

    public func assign(members: [AssignorMember], partitionCounts: [String: Int]) -> [String: [String: [Int32]]] {
        var result = Dictionary(uniqueKeysWithValues: members.map { ($0.memberId, [String: [Int32]]()) })
        let ordered = members.sorted(by: AssignorMember.javaOrder)
        guard !ordered.isEmpty else { return result }
        var next = 0
        for topic in Set(members.flatMap(\.subscription.topics)).sorted() {
            guard let count = partitionCounts[topic] else { continue }
            for partition in 0..<count {
                // The next member on the circle subscribed to this topic.
                for step in 0..<ordered.count {
                    let member = ordered[(next + step) % ordered.count]
                    guard member.subscription.topics.contains(topic) else { continue }
                    result[member.memberId]![topic, default: []].append(Int32(partition))
                    next = (next + step + 1) % ordered.count
                    break
                }
            }
        }
        return result
    }
}

/// Java's `CooperativeStickyAssignor` (and librdkafka's `cooperative-sticky`): a balanced
/// assignment that keeps each member's partitions where it can, rebalanced incrementally. A
/// partition moving from one member to another is left out of this generation's assignment:
/// its owner gives it up, joins again, and the next assignment hands it to its new member, so
/// no partition is ever consumed by two members at once and the others keep consuming.
public struct CooperativeStickyAssignor: ClientAssignor {
    public var name: String { "cooperative-sticky" }

    public init() {}

    public func assign(members: [AssignorMember], partitionCounts: [String: Int]) -> [String: [String: [Int32]]] {
        let ordered = members.sorted(by: AssignorMember.javaOrder)
        var result = Dictionary(uniqueKeysWithValues: members.map { ($0.memberId, [String: [Int32]]()) })
        guard !ordered.isEmpty else { return result }
        // Who owns each partition now: the claim of the highest generation wins.
        var owner: [PartitionKey: (member: String, generation: Int32)] = [:]
        for member in ordered {
            for (topic, partitions) in member.subscription.ownedPartitions {
                for partition in partitions {
                    let key = PartitionKey(topic: topic, partition: partition)
                    if let current = owner[key], current.generation >= member.subscription.generationId { continue }
                    owner[key] = (member.memberId, member.subscription.generationId)
                }
            }
        }
        var plan = Dictionary(uniqueKeysWithValues: ordered.map { ($0.memberId, [PartitionKey]()) })
        var unassigned: [PartitionKey] = []
        let all = Set(ordered.flatMap(\.subscription.topics)).sorted().flatMap { topic in
            (0..<(partitionCounts[topic] ?? 0)).map { PartitionKey(topic: topic, partition: Int32($0)) }
        }
        // Each member may hold floor(n/m) partitions, and `extra` of them one more.
        let floorQuota = all.count / ordered.count
        var extra = all.count % ordered.count
        // First, owners keep what they own, up to the floor quota (still subscribed, still existing).
        var kept: [String: [PartitionKey]] = [:]
        for key in all {
            guard let owned = owner[key], let member = ordered.first(where: { $0.memberId == owned.member }),
                member.subscription.topics.contains(key.topic)
            else {
                unassigned.append(key)
                continue
            }
            kept[owned.member, default: []].append(key)
        }
        for member in ordered {
            let mine = kept[member.memberId] ?? []
            plan[member.memberId] = Array(mine.prefix(floorQuota))
            unassigned += mine.dropFirst(floorQuota)
        }
        // Owners with more than the floor keep one more while extra slots remain.
        for member in ordered where extra > 0 {
            let mine = kept[member.memberId] ?? []
            guard mine.count > floorQuota, let index = unassigned.firstIndex(of: mine[floorQuota]) else { continue }
            plan[member.memberId]!.append(unassigned.remove(at: index))
            extra -= 1
        }
        // Then the rest goes to whoever is below its quota, fewest first.
        unassigned.sort()
        for key in unassigned {
            let eligible = ordered.filter { $0.subscription.topics.contains(key.topic) }
            guard
                let target = eligible.min(by: { left, right in
                    (plan[left.memberId]!.count, left.memberId) < (plan[right.memberId]!.count, right.memberId)
                })
            else { continue }
            plan[target.memberId]!.append(key)
        }
        // Cooperative: a partition still owned by another member waits for the next round.
        for member in ordered {
            for key in plan[member.memberId]! {
                if let owned = owner[key], owned.member != member.memberId, ordered.contains(where: { $0.memberId == owned.member }) {
                    continue
                }
                result[member.memberId]![key.topic, default: []].append(key.partition)
            }
        }
        return result
    }

    private struct PartitionKey: Hashable, Comparable {
        var topic: String
        var partition: Int32

        static func < (lhs: PartitionKey, rhs: PartitionKey) -> Bool {
            (lhs.topic, lhs.partition) < (rhs.topic, rhs.partition)
        }
    }
}
