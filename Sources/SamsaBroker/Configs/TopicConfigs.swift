import SamsaStorage

/// Kafka's topic configs (as of Kafka 4.0): names, types, defaults, the broker configs that
/// supply their defaults, validation, and how they map onto `LogConfig`.
///
/// Every config is accepted, stored and described; those that storage acts on say how in
/// their definition's ``ConfigDefinition/applyToLog``. The others (compression.type, min.insync.replicas,
/// throttles, tiered storage...) are kept and reported but change nothing on a
/// single broker that neither recompresses nor replicates.
package enum TopicConfigs {
    /// Kafka's longest duration or count: "never".
    static let longMax = "9223372036854775807"

    /// Every topic config, sorted by name (the order DescribeConfigs lists them in).
    package static let definitions: [ConfigDefinition] = [
        ConfigDefinition(
            "cleanup.policy", .list, "delete", broker: "log.cleanup.policy", .listOf(["compact", "delete"]),
            log: { config, value in if let v = cleanupPolicy(value) { config.cleanupPolicy = v } }),
        ConfigDefinition("compression.gzip.level", .int, "-1", broker: "compression.gzip.level", .range(min: 1, max: 9, orExactly: -1)),
        ConfigDefinition("compression.lz4.level", .int, "9", broker: "compression.lz4.level", .range(min: 1, max: 17)),
        ConfigDefinition(
            "compression.type", .string, "producer", broker: "compression.type",
            .oneOf(["uncompressed", "zstd", "lz4", "snappy", "gzip", "producer"])),
        ConfigDefinition("compression.zstd.level", .int, "3", broker: "compression.zstd.level", .range(min: -131_072, max: 22)),
        ConfigDefinition(
            "delete.retention.ms", .long, "86400000", broker: "log.cleaner.delete.retention.ms", .range(min: 0),
            log: { config, value in if let v = Int64(value) { config.deleteRetentionMilliseconds = v } }),
        ConfigDefinition("file.delete.delay.ms", .long, "60000", broker: "log.segment.delete.delay.ms", .range(min: 0)),
        ConfigDefinition(
            "flush.messages", .long, longMax, broker: "log.flush.interval.messages", .range(min: 1),
            log: { config, value in config.flushPolicy = flushPolicy(messages: value, milliseconds: nil, defaults: config.flushPolicy) }),
        ConfigDefinition(
            "flush.ms", .long, longMax, broker: "log.flush.interval.ms", .range(min: 0),
            log: { config, value in config.flushPolicy = flushPolicy(messages: nil, milliseconds: value, defaults: config.flushPolicy) }),
        ConfigDefinition("follower.replication.throttled.replicas", .list, "", broker: nil, .throttledReplicas),
        ConfigDefinition(
            "index.interval.bytes", .int, "4096", broker: "log.index.interval.bytes", .range(min: 0),
            log: { config, value in if let v = Int(value) { config.indexIntervalBytes = v } }),
        ConfigDefinition("leader.replication.throttled.replicas", .list, "", broker: nil, .throttledReplicas),
        ConfigDefinition("local.retention.bytes", .long, "-2", broker: "log.local.retention.bytes", .range(min: -2)),
        ConfigDefinition("local.retention.ms", .long, "-2", broker: "log.local.retention.ms", .range(min: -2)),
        ConfigDefinition("max.compaction.lag.ms", .long, longMax, broker: "log.cleaner.max.compaction.lag.ms", .range(min: 1)),
        ConfigDefinition(
            "max.message.bytes", .int, "1048588", broker: "message.max.bytes", .range(min: 0),
            log: { config, value in if let v = Int(value) { config.maxBatchBytes = v } }),
        ConfigDefinition(
            "message.timestamp.after.max.ms", .long, "3600000", broker: "log.message.timestamp.after.max.ms", .range(min: 0)),
        ConfigDefinition(
            "message.timestamp.before.max.ms", .long, longMax, broker: "log.message.timestamp.before.max.ms", .range(min: 0)),
        ConfigDefinition(
            "message.timestamp.type", .string, "CreateTime", broker: "log.message.timestamp.type",
            .oneOf(["CreateTime", "LogAppendTime"]),
            log: { config, value in
                if value == "LogAppendTime" { config.timestampType = .logAppendTime }
                if value == "CreateTime" { config.timestampType = .createTime }
            }),
        ConfigDefinition(
            "min.cleanable.dirty.ratio", .double, "0.5", broker: "log.cleaner.min.cleanable.ratio", .doubleRange(min: 0, max: 1)),
        ConfigDefinition("min.compaction.lag.ms", .long, "0", broker: "log.cleaner.min.compaction.lag.ms", .range(min: 0)),
        ConfigDefinition("min.insync.replicas", .int, "1", broker: "min.insync.replicas", .range(min: 1)),
        ConfigDefinition("preallocate", .boolean, "false", broker: "log.preallocate", .any),
        ConfigDefinition("remote.log.copy.disable", .boolean, "false", broker: nil, .any),
        ConfigDefinition("remote.log.delete.on.disable", .boolean, "false", broker: nil, .any),
        ConfigDefinition("remote.storage.enable", .boolean, "false", broker: nil, .any),
        ConfigDefinition(
            "retention.bytes", .long, "-1", broker: "log.retention.bytes", .any,
            log: { config, value in if let v = Int64(value) { config.retentionBytes = v < 0 ? nil : v } }),
        ConfigDefinition(
            "retention.ms", .long, "604800000", broker: "log.retention.ms", .range(min: -1),
            log: { config, value in if let v = Int64(value) { config.retentionMilliseconds = v < 0 ? nil : v } }),
        ConfigDefinition(
            "segment.bytes", .int, "1073741824", broker: "log.segment.bytes", .range(min: 14),
            log: { config, value in if let v = Int(value) { config.segmentBytes = v } }),
        ConfigDefinition(
            "segment.index.bytes", .int, "10485760", broker: "log.index.size.max.bytes", .range(min: 4),
            log: { config, value in if let v = Int(value) { config.maxIndexEntries = max(1, v / 8) } }),
        ConfigDefinition("segment.jitter.ms", .long, "0", broker: "log.roll.jitter.ms", .range(min: 0)),
        ConfigDefinition(
            "segment.ms", .long, "604800000", broker: "log.roll.ms", .range(min: 1),
            log: { config, value in if let v = Int64(value) { config.segmentMilliseconds = v } }),
        ConfigDefinition("unclean.leader.election.enable", .boolean, "false", broker: "unclean.leader.election.enable", .any),
    ]

    private static let definitionsByName: [String: ConfigDefinition] =
        Dictionary(uniqueKeysWithValues: definitions.map { ($0.name, $0) })

    /// The definition of the topic config `name`.
    package static func definition(named name: String) -> ConfigDefinition? { definitionsByName[name] }

    /// Why `configs` cannot be a topic's set of overrides, in Kafka's words (INVALID_CONFIG),
    /// or nil when every name is known and every value valid.
    package static func validate(_ configs: [String: String?]) -> String? {
        let nullNames = configs.filter { $0.value == nil }.keys.sorted()
        if !nullNames.isEmpty {
            return "Null value not supported for topic configs: \(nullNames.joined(separator: ","))"
        }
        let names = configs.keys.sorted()
        for name in names where definitionsByName[name] == nil {
            return "Unknown topic config name: \(name)"
        }
        for name in names {
            if let value = configs[name] ?? nil, let problem = definitionsByName[name]!.problem(with: value) {
                return problem
            }
        }
        if let remote = configs["remote.storage.enable"] ?? nil, remote.trimmingASCIISpaces.lowercased() == "true" {
            return "Tiered Storage functionality is disabled in the broker. Topic cannot be configured with remote log storage."
        }
        let minLag = Int64((configs["min.compaction.lag.ms"] ?? nil)?.trimmingASCIISpaces ?? "0") ?? 0
        let maxLag = Int64((configs["max.compaction.lag.ms"] ?? nil)?.trimmingASCIISpaces ?? longMax) ?? .max
        if minLag > maxLag {
            return "conflict topic config setting min.compaction.lag.ms (\(minLag)) > max.compaction.lag.ms (\(maxLag))"
        }
        return nil
    }

    /// Parses `cleanup.policy` ("delete", "compact", "compact,delete"; empty keeps data forever).
    package static func cleanupPolicy(_ value: String) -> CleanupPolicy? {
        var policy: CleanupPolicy = []
        for part in ConfigRule.listItems(value) {
            switch part {
            case "delete": policy.insert(.delete)
            case "compact": policy.insert(.compact)
            default: return nil
            }
        }
        return policy
    }
}
