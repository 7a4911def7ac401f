import SamsaCoordination

/// The group coordinator's settings, named after Kafka's broker configs.
public struct GroupCoordinatorConfiguration: Sendable {
    /// `group.initial.rebalance.delay.ms` (300 ms here, 3 s in Kafka, 0 in Kafka's shipped
    /// `server.properties`), `group.min/max.session.timeout.ms`, `group.max.size`. 300 ms still
    /// gathers consumers started together into one first generation, without making a lone
    /// consumer on a development broker wait seconds for its partitions.
    public var classic = ClassicGroupSettings()
    /// `group.consumer.session.timeout.ms`, `group.consumer.heartbeat.interval.ms` (1 s here,
    /// 5 s in Kafka: see ``ConsumerGroupSettings``), `group.consumer.max.size`,
    /// `group.consumer.assignors` of KIP-848 consumer groups.
    public var consumer = ConsumerGroupSettings()
    /// `offsets.topic.num.partitions` for a new `__consumer_offsets` (Kafka: 50). One broker
    /// needs no spread across brokers, but groups hash onto partitions as in Kafka, so offset
    /// commits of different groups go to different logs and fsync in parallel; 10 partitions
    /// keep that while cutting the files opened and replayed at start by five.
    public var offsetsTopicPartitionCount: Int32 = 10
    /// `offsets.topic.segment.bytes`.
    public var offsetsTopicSegmentBytes: Int = 100 * 1024 * 1024
    /// `offsets.retention.minutes` in ms: how long an empty group keeps its offsets.
    public var offsetsRetentionMs: Int64 = 7 * 24 * 60 * 60 * 1000
    /// `offsets.retention.check.interval.ms`.
    public var offsetsRetentionCheckIntervalMs: Int64 = 600_000
    /// `offset.metadata.max.bytes`: longer commit metadata gets OFFSET_METADATA_TOO_LARGE.
    public var offsetMetadataMaxBytes: Int = 4096

    public init() {}
}
