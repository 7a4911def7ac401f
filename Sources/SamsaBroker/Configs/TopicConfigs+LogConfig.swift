import SamsaStorage

extension TopicConfigs {
    /// Applies `overrides` (Kafka config names and string values) to `defaults`. Values are
    /// assumed valid (see ``validate(_:)``); an unparsable one leaves the default.
    public static func logConfig(overrides: [String: String], defaults: LogConfig) -> LogConfig {
        var config = defaults
        var flushMessages: String?
        var flushMilliseconds: String?
        for (name, raw) in overrides {
            let value = raw.trimmingASCIISpaces
            switch name {
            case "segment.bytes": if let v = Int(value) { config.segmentBytes = v }
            case "segment.ms": if let v = Int64(value) { config.segmentMilliseconds = v }
            case "segment.index.bytes": if let v = Int(value) { config.maxIndexEntries = max(1, v / 8) }
            case "retention.ms": if let v = Int64(value) { config.retentionMilliseconds = v < 0 ? nil : v }
            case "retention.bytes": if let v = Int64(value) { config.retentionBytes = v < 0 ? nil : v }
            case "cleanup.policy": if let v = cleanupPolicy(value) { config.cleanupPolicy = v }
            case "delete.retention.ms": if let v = Int64(value) { config.deleteRetentionMilliseconds = v }
            case "max.message.bytes": if let v = Int(value) { config.maxBatchBytes = v }
            case "index.interval.bytes": if let v = Int(value) { config.indexIntervalBytes = v }
            case "message.timestamp.type":
                if value == "LogAppendTime" { config.timestampType = .logAppendTime }
                if value == "CreateTime" { config.timestampType = .createTime }
            case "flush.messages": flushMessages = value
            case "flush.ms": flushMilliseconds = value
            default: break
            }
        }
        if flushMessages != nil || flushMilliseconds != nil {
            config.flushPolicy = flushPolicy(messages: flushMessages, milliseconds: flushMilliseconds, defaults: defaults.flushPolicy)
        }
        return config
    }

    /// `flush.messages` and `flush.ms` set on a topic trade group commit for Kafka's interval
    /// flushing; Kafka's "never" (Long.MAX) in both keeps the broker's policy.
    private static func flushPolicy(messages: String?, milliseconds: String?, defaults: FlushPolicy) -> FlushPolicy {
        var (count, interval): (Int?, Int64?) = (nil, nil)
        if case .interval(let m, let ms) = defaults { (count, interval) = (m, ms) }
        if let messages, let v = Int64(messages) { count = v == .max ? nil : Int(clamping: v) }
        if let milliseconds, let v = Int64(milliseconds) { interval = v == .max ? nil : v }
        if count == nil && interval == nil {
            if case .interval = defaults { return .none }
            return defaults
        }
        return .interval(messages: count, milliseconds: interval)
    }

    /// The Kafka-style string of a cleanup policy.
    static func string(of policy: CleanupPolicy) -> String {
        var parts: [String] = []
        if policy.contains(.compact) { parts.append("compact") }
        if policy.contains(.delete) { parts.append("delete") }
        return parts.joined(separator: ",")
    }
}
