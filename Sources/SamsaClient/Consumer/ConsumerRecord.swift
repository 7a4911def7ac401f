import NIOCore
import SamsaRecords

/// A record read from a partition.
public struct ConsumerRecord: Sendable {
    public var topic: String
    public var partition: Int32
    public var offset: Int64
    /// Create time or log-append time, in ms since the epoch (see `timestampType`).
    public var timestamp: Int64
    public var timestampType: TimestampType
    public var key: ByteBuffer?
    public var value: ByteBuffer?
    public var headers: [RecordHeader]

    /// The key as UTF-8 text.
    public var keyString: String? { key.map { String(buffer: $0) } }
    /// The value as UTF-8 text.
    public var valueString: String? { value.map { String(buffer: $0) } }
}

/// A partition read to its end: ``KafkaConsumer/partitionEnds``.
public struct PartitionEnd: Hashable, Sendable {
    public var partition: TopicPartition
    /// The position: the end offset at the time of the fetch.
    public var offset: Int64
}

extension Sequence<TopicPartition> {
    /// The partitions by topic, topics and partition indexes in order: how requests list them.
    func byTopic() -> [(topic: String, partitions: [Int32])] {
        Dictionary(grouping: self, by: \.topic).map { ($0.key, $0.value.map(\.partition).sorted()) }.sorted { $0.topic < $1.topic }
    }
}

/// Where to start reading a partition.
public enum OffsetSpec: Hashable, Sendable {
    /// The oldest record still kept.
    case earliest
    /// After the newest record (only records produced from now on).
    case latest
    /// This offset.
    case offset(Int64)
    /// The first record with a timestamp at or after this one (ms since the epoch).
    case timestamp(Int64)
}

/// A topic and partition.
public struct TopicPartition: Hashable, Sendable, Comparable, CustomStringConvertible {
    public var topic: String
    public var partition: Int32

    public init(_ topic: String, _ partition: Int32) {
        self.topic = topic
        self.partition = partition
    }

    public static func < (lhs: TopicPartition, rhs: TopicPartition) -> Bool {
        (lhs.topic, lhs.partition) < (rhs.topic, rhs.partition)
    }

    public var description: String { "\(topic)-\(partition)" }
}
