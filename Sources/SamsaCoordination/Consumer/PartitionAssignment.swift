import SamsaBinary

/// A set of partitions by topic id: what a member owns, should own, or must give up.
public struct PartitionAssignment: Sendable, Hashable {
    public private(set) var partitions: [KafkaUUID: Set<Int32>]

    public init(_ partitions: [KafkaUUID: Set<Int32>] = [:]) {
        self.partitions = partitions.filter { !$0.value.isEmpty }
    }

    public static let empty = PartitionAssignment()

    public var isEmpty: Bool { partitions.isEmpty }
    /// How many partitions, over every topic.
    public var count: Int { partitions.values.reduce(0) { $0 + $1.count } }
    public var topicIds: [KafkaUUID] { partitions.keys.sorted() }

    public subscript(topicId: KafkaUUID) -> Set<Int32> {
        partitions[topicId] ?? []
    }

    public func contains(_ topicId: KafkaUUID, _ partition: Int32) -> Bool {
        partitions[topicId]?.contains(partition) ?? false
    }

    public mutating func insert(_ topicId: KafkaUUID, _ partition: Int32) {
        partitions[topicId, default: []].insert(partition)
    }

    public mutating func remove(_ topicId: KafkaUUID, _ partition: Int32) {
        partitions[topicId]?.remove(partition)
        if partitions[topicId]?.isEmpty == true { partitions[topicId] = nil }
    }

    /// Every (topic id, partition), sorted.
    public var sorted: [(topicId: KafkaUUID, partition: Int32)] {
        topicIds.flatMap { id in self[id].sorted().map { (topicId: id, partition: $0) } }
    }

    public func intersection(_ other: PartitionAssignment) -> PartitionAssignment {
        var result: [KafkaUUID: Set<Int32>] = [:]
        for (id, set) in partitions {
            result[id] = set.intersection(other[id])
        }
        return PartitionAssignment(result)
    }

    public func subtracting(_ other: PartitionAssignment) -> PartitionAssignment {
        var result: [KafkaUUID: Set<Int32>] = [:]
        for (id, set) in partitions {
            result[id] = set.subtracting(other[id])
        }
        return PartitionAssignment(result)
    }

    public func union(_ other: PartitionAssignment) -> PartitionAssignment {
        PartitionAssignment(partitions.merging(other.partitions) { $0.union($1) })
    }

    public func isSubset(of other: PartitionAssignment) -> Bool {
        partitions.allSatisfy { $0.value.isSubset(of: other[$0.key]) }
    }
}
