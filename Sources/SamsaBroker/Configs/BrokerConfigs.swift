import SamsaStorage

/// The broker configs DescribeConfigs lists for a broker resource, with Kafka's names and
/// defaults and this broker's values, and the broker defaults behind topic configs.
///
/// A value differing from Kafka's default is reported as a static broker config (it comes
/// from `samsa serve`'s flags or file, or is fixed by Samsa, like the replication factors of
/// a single broker). All are read-only: dynamic broker configs are not supported.
public enum BrokerConfigs {
    /// One broker config as configured.
    public struct Value: Sendable {
        public var name: String
        public var type: ConfigType
        /// Kafka's default, nil for null.
        public var kafkaDefault: String?
        /// The value in force, nil for null.
        public var value: String?
        public var isSensitive: Bool = false

        /// Where the value comes from.
        public var source: ConfigSource { value == kafkaDefault ? .defaultConfig : .staticBrokerConfig }

        /// The synonyms DescribeConfigs reports: the static value, then Kafka's default.
        var synonyms: [ConfigEntry.Synonym] {
            var result: [ConfigEntry.Synonym] = []
            if source == .staticBrokerConfig {
                result.append(.init(name: name, value: isSensitive ? nil : value, source: .staticBrokerConfig))
            }
            if let kafkaDefault {
                result.append(.init(name: name, value: isSensitive ? nil : kafkaDefault, source: .defaultConfig))
            }
            return result
        }

        /// The value as DescribeConfigs reports it.
        var entry: ConfigEntry {
            ConfigEntry(
                name: name, value: isSensitive ? nil : value, source: source, type: type, isReadOnly: true,
                isSensitive: isSensitive, synonyms: synonyms)
        }
    }

    /// Every listed broker config, sorted by name.
    public static func values(for configuration: BrokerConfiguration, advertised: (host: String, port: Int32), listenPort: Int) -> [Value] {
        let log = configuration.logDefaults
        let kafkaLog = LogConfig()
        let longMax = TopicConfigs.longMax
        var flushMessages = longMax
        var flushMilliseconds = longMax
        if case .interval(let messages, let milliseconds) = log.flushPolicy {
            flushMessages = messages.map(String.init) ?? longMax
            flushMilliseconds = milliseconds.map(String.init) ?? longMax
        }
        func v(_ name: String, _ type: ConfigType, _ kafkaDefault: String?, _ value: String?) -> Value {
            Value(name: name, type: type, kafkaDefault: kafkaDefault, value: value)
        }
        let nodeID = String(configuration.nodeID)
        let listener = "PLAINTEXT://\(configuration.listenHost):\(listenPort)"
        let values: [Value] = [
            v("advertised.listeners", .string, nil, "PLAINTEXT://\(advertised.host):\(advertised.port)"),
            v("auto.create.topics.enable", .boolean, "true", String(configuration.autoCreateTopics)),
            v("broker.id", .int, "-1", nodeID),
            v("compression.gzip.level", .int, "-1", "-1"),
            v("compression.lz4.level", .int, "9", "9"),
            v("compression.type", .string, "producer", "producer"),
            v("compression.zstd.level", .int, "3", "3"),
            v("default.replication.factor", .int, "1", "1"),
            v("delete.topic.enable", .boolean, "true", "true"),
            v("log.cleaner.delete.retention.ms", .long, "86400000", String(log.deleteRetentionMilliseconds)),
            v("log.cleaner.enable", .boolean, "true", "true"),
            v("log.cleaner.max.compaction.lag.ms", .long, longMax, longMax),
            v("log.cleaner.min.cleanable.ratio", .double, "0.5", "0.5"),
            v("log.cleaner.min.compaction.lag.ms", .long, "0", "0"),
            v("log.cleaner.threads", .int, "1", "1"),
            v("log.cleanup.policy", .list, "delete", TopicConfigs.string(of: log.cleanupPolicy)),
            v("log.dir", .string, "/tmp/kafka-logs", configuration.dataDirectory),
            v("log.dirs", .string, nil, configuration.dataDirectory),
            v("log.flush.interval.messages", .long, longMax, flushMessages),
            v("log.flush.interval.ms", .long, longMax, flushMilliseconds),
            v("log.index.interval.bytes", .int, String(kafkaLog.indexIntervalBytes), String(log.indexIntervalBytes)),
            v("log.index.size.max.bytes", .int, "10485760", String(log.maxIndexEntries * 8)),
            v("log.local.retention.bytes", .long, "-2", "-2"),
            v("log.local.retention.ms", .long, "-2", "-2"),
            v("log.message.timestamp.after.max.ms", .long, "3600000", "3600000"),
            v("log.message.timestamp.before.max.ms", .long, longMax, longMax),
            v("log.message.timestamp.type", .string, "CreateTime", log.timestampType == .logAppendTime ? "LogAppendTime" : "CreateTime"),
            v("log.preallocate", .boolean, "false", "false"),
            v("log.retention.bytes", .long, "-1", String(log.retentionBytes ?? -1)),
            v("log.retention.check.interval.ms", .long, "300000", String(milliseconds(configuration.maintenanceInterval))),
            v("log.retention.hours", .int, "168", "168"),
            v("log.retention.ms", .long, "604800000", String(log.retentionMilliseconds ?? -1)),
            v("log.roll.hours", .int, "168", "168"),
            v("log.roll.jitter.ms", .long, "0", "0"),
            v("log.roll.ms", .long, "604800000", String(log.segmentMilliseconds)),
            v("log.segment.bytes", .int, "1073741824", String(log.segmentBytes)),
            v("log.segment.delete.delay.ms", .long, "60000", "60000"),
            v("listeners", .string, "PLAINTEXT://:9092", listener),
            v("message.max.bytes", .int, "1048588", String(log.maxBatchBytes)),
            v("min.insync.replicas", .int, "1", "1"),
            v("node.id", .int, "-1", nodeID),
            v("num.io.threads", .int, "8", String(configuration.blockingThreadCount)),
            v("num.partitions", .int, "1", String(configuration.defaultPartitionCount)),
            v("offsets.topic.num.partitions", .int, "50", "50"),
            v("offsets.topic.replication.factor", .short, "3", "1"),
            v("process.roles", .list, "", "broker,controller"),
            v("socket.request.max.bytes", .int, "104857600", String(configuration.maxFrameBytes)),
            v("transaction.state.log.min.isr", .int, "2", "1"),
            v("transaction.state.log.num.partitions", .int, "50", "50"),
            v("transaction.state.log.replication.factor", .short, "3", "1"),
            v("unclean.leader.election.enable", .boolean, "false", "false"),
        ]
        return values.sorted { $0.name < $1.name }
    }

    private static func milliseconds(_ duration: Duration) -> Int64 {
        let (seconds, attoseconds) = duration.components
        return seconds * 1000 + attoseconds / 1_000_000_000_000_000
    }
}
