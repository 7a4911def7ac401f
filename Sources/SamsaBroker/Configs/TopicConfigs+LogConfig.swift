import SamsaStorage

extension TopicConfigs {
    /// Applies `overrides` (Kafka config names and string values) to `defaults`. Values are
    /// assumed valid (see ``validate(_:)``); an unparsable one leaves the default.
    package static func logConfig(overrides: [String: String], defaults: LogConfig) -> LogConfig {
        var config = defaults
        for (name, value) in overrides {
            definition(named: name)?.applyToLog?(&config, value.trimmingASCIISpaces)
        }
        return config
    }

    /// `flush.messages` and `flush.ms` set on a topic trade group commit for Kafka's interval
    /// flushing; Kafka's "never" (Long.MAX) in both keeps the broker's policy. Each is applied
    /// on its own, in either order, with the other's value taken from `defaults`.
    static func flushPolicy(messages: String?, milliseconds: String?, defaults: FlushPolicy) -> FlushPolicy {
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
