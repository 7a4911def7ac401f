import NIOCore
import SamsaRecords

/// A record to produce.
public struct ProducerRecord: Sendable {
    public var topic: String
    /// The key; records with the same key go to the same partition (unless `partition` is set).
    public var key: ByteBuffer?
    /// The value; nil is a tombstone on a compacted topic.
    public var value: ByteBuffer?
    public var headers: [RecordHeader]
    /// The partition, or nil to let the partitioner choose.
    public var partition: Int32?
    /// The record's timestamp in ms since the epoch, or nil for the time of `send`.
    public var timestamp: Int64?

    public init(
        topic: String, key: ByteBuffer? = nil, value: ByteBuffer?, headers: [RecordHeader] = [], partition: Int32? = nil,
        timestamp: Int64? = nil
    ) {
        self.topic = topic
        self.key = key
        self.value = value
        self.headers = headers
        self.partition = partition
        self.timestamp = timestamp
    }

    /// A record with UTF-8 key and value.
    public init(topic: String, key: String? = nil, value: String?, headers: [String: String] = [:], partition: Int32? = nil) {
        self.init(
            topic: topic, key: key.map { ByteBuffer(string: $0) }, value: value.map { ByteBuffer(string: $0) },
            headers: headers.sorted { $0.key < $1.key }.map { RecordHeader(key: $0.key, value: ByteBuffer(string: $0.value)) },
            partition: partition)
    }

    /// About the bytes the record takes in a batch (before compression).
    var estimatedSize: Int {
        var size = 21 + (key?.readableBytes ?? 0) + (value?.readableBytes ?? 0)
        for header in headers { size += header.key.utf8.count + (header.value?.readableBytes ?? 0) + 4 }
        return size
    }
}

/// Where a record was written.
public struct RecordMetadata: Hashable, Sendable {
    public var topic: String
    public var partition: Int32
    /// The record's offset, or -1 when unknown (acks=0).
    public var offset: Int64
    /// The record's timestamp: its create time, or the broker's append time on a LogAppendTime topic.
    public var timestamp: Int64
}

/// The outcome of one batch of records (``ProducerConfiguration/deliveryReports``): records of
/// one partition, in the order they were sent.
public struct DeliveryReport: Sendable {
    public var topic: String
    public var partition: Int32
    /// How many records the batch held.
    public var recordCount: Int
    /// Their offsets: the first is `baseOffset`, the rest follow; -1 when unknown (acks=0, or a
    /// retry the broker recognised as a duplicate).
    public var baseOffset: Int64
    /// Why the records were not delivered; nil when they were.
    public var error: (any Error)?
}
