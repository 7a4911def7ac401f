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
