import SamsaStorage

/// Kafka's topic configs: names, defaults and how they map onto `LogConfig`.
public enum TopicConfigs {
    /// Applies `overrides` (Kafka config names and string values) to `defaults`. Values are
    /// assumed valid (see ``validate(_:)``); an unparsable one leaves the default.
    public static func logConfig(overrides: [String: String], defaults: LogConfig) -> LogConfig {
        var config = defaults
        for (name, value) in overrides {
            switch name {
            case "segment.bytes": if let v = Int(value) { config.segmentBytes = v }
            case "segment.ms": if let v = Int64(value) { config.segmentMilliseconds = v }
            case "retention.ms": if let v = Int64(value) { config.retentionMilliseconds = v < 0 ? nil : v }
            case "retention.bytes": if let v = Int64(value) { config.retentionBytes = v < 0 ? nil : v }
            case "cleanup.policy": if let v = cleanupPolicy(value) { config.cleanupPolicy = v }
            case "delete.retention.ms": if let v = Int64(value) { config.deleteRetentionMilliseconds = v }
            case "max.message.bytes": if let v = Int(value) { config.maxBatchBytes = v }
            case "index.interval.bytes": if let v = Int(value) { config.indexIntervalBytes = v }
            case "message.timestamp.type":
                if value == "LogAppendTime" { config.timestampType = .logAppendTime }
                if value == "CreateTime" { config.timestampType = .createTime }
            default: break
            }
        }
        return config
    }

    /// Parses `cleanup.policy` ("delete", "compact", "compact,delete").
    public static func cleanupPolicy(_ value: String) -> CleanupPolicy? {
        var policy: CleanupPolicy = []
        for part in value.split(separator: ",") {
            switch part.filter({ !$0.isWhitespace }) {
            case "delete": policy.insert(.delete)
            case "compact": policy.insert(.compact)
            default: return nil
            }
        }
        return policy.isEmpty ? nil : policy
    }
}

extension TopicConfigs {
    /// Why `configs` cannot be set on a topic, or nil when every name is known and every value
    /// valid.
    public static func validate(_ configs: [String: String]) -> String? {
        for (name, value) in configs.sorted(by: { $0.key < $1.key }) {
            switch name {
            case "segment.bytes", "max.message.bytes", "index.interval.bytes", "segment.index.bytes":
                guard let number = Int(value), number > 0 else { return "Invalid value \(value) for configuration \(name)" }
            case "segment.ms", "delete.retention.ms", "flush.ms", "flush.messages", "min.compaction.lag.ms",
                "max.compaction.lag.ms", "file.delete.delay.ms", "segment.jitter.ms", "message.timestamp.difference.max.ms",
                "message.timestamp.before.max.ms", "message.timestamp.after.max.ms", "local.retention.ms", "local.retention.bytes":
                guard let number = Int64(value), number >= -2 else { return "Invalid value \(value) for configuration \(name)" }
            case "retention.ms", "retention.bytes":
                guard let number = Int64(value), number >= -1 else { return "Invalid value \(value) for configuration \(name)" }
            case "cleanup.policy":
                guard cleanupPolicy(value) != nil else { return "Invalid value \(value) for configuration cleanup.policy: String must be one of: compact, delete" }
            case "message.timestamp.type":
                guard value == "CreateTime" || value == "LogAppendTime" else { return "Invalid value \(value) for configuration message.timestamp.type: String must be one of: CreateTime, LogAppendTime" }
            case "compression.type":
                guard ["uncompressed", "zstd", "lz4", "snappy", "gzip", "producer"].contains(value) else { return "Invalid value \(value) for configuration compression.type" }
            case "min.insync.replicas":
                guard let number = Int(value), number >= 1 else { return "Invalid value \(value) for configuration min.insync.replicas" }
            case "min.cleanable.dirty.ratio":
                guard let number = Double(value), number >= 0, number <= 1 else { return "Invalid value \(value) for configuration min.cleanable.dirty.ratio" }
            case "unclean.leader.election.enable", "preallocate", "message.downconversion.enable", "remote.storage.enable":
                guard value == "true" || value == "false" else { return "Invalid value \(value) for configuration \(name): Expected value to be either true or false" }
            default:
                return "Unknown topic config name: \(name)"
            }
        }
        return nil
    }
}
