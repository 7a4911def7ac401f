import SamsaStorage

/// A problem in a configuration file or flag, with where it came from.
public struct ConfigurationError: Error, CustomStringConvertible, Sendable {
    public let description: String

    public init(_ description: String) {
        self.description = description
    }
}

extension BrokerConfiguration {
    /// The keys a configuration file may set, with what they do (for `samsa serve --help`).
    public static let propertyDocumentation: [(key: String, meaning: String)] = [
        ("listen", "HOST:PORT to listen on (default 127.0.0.1:9092)"),
        ("advertise", "HOST:PORT clients are told to connect to (default: the listen address)"),
        ("data.dir", "directory for logs and metadata (default ./samsa-data; alias log.dirs)"),
        ("node.id", "this broker's node id (default 1)"),
        ("auto.create.topics.enable", "create unknown topics on Metadata requests (default true)"),
        ("num.partitions", "partitions of auto-created topics (default 1)"),
        ("log.retention.ms", "delete data older than this; -1 keeps it forever (default 7 days; also .minutes, .hours)"),
        ("log.retention.bytes", "delete the oldest data while a partition is larger; -1: no limit (default -1)"),
        ("log.segment.bytes", "roll a segment at this size (default 1 GiB)"),
        ("log.roll.ms", "roll a segment at this age (default 7 days; also log.roll.hours)"),
        ("log.cleanup.policy", "delete, compact, or compact,delete (default delete)"),
        ("log.message.timestamp.type", "CreateTime or LogAppendTime (default CreateTime)"),
        ("message.max.bytes", "largest record batch a topic accepts (default 1048588)"),
        ("socket.request.max.bytes", "largest request frame (default 104857600)"),
        ("log.flush.policy", "group-commit (acks=all waits for fsync), interval, or none (default group-commit)"),
        ("log.flush.interval.messages", "with the interval policy: fsync after this many messages"),
        ("log.flush.interval.ms", "with the interval policy: fsync data older than this"),
        ("maintenance.interval.ms", "how often retention, compaction and checkpoints run (default 30000)"),
    ]

    /// Parses a configuration file: `key = value` lines (or `key: value`), `#` comments, blank
    /// lines ignored. Keys are those of ``propertyDocumentation``.
    public static func parseProperties(_ text: String, source: String) throws(ConfigurationError) -> [(key: String, value: String)] {
        var result: [(key: String, value: String)] = []
        for (index, rawLine) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = rawLine.split(separator: "#", maxSplits: 1, omittingEmptySubsequences: false).first ?? ""
            let trimmed = line.trimmingWhitespace()
            if trimmed.isEmpty { continue }
            guard let separator = trimmed.firstIndex(where: { $0 == "=" || $0 == ":" }) else {
                throw ConfigurationError("\(source):\(index + 1): expected `key = value`, got `\(trimmed)`")
            }
            let key = trimmed[..<separator].trimmingWhitespace()
            let value = trimmed[trimmed.index(after: separator)...].trimmingWhitespace()
            result.append((String(key), String(value)))
        }
        return result
    }

    /// Applies one setting. Throws a readable error for unknown keys and bad values.
    public mutating func apply(key: String, value: String) throws(ConfigurationError) {
        func integer(_ value: String) throws(ConfigurationError) -> Int64 {
            guard let number = Int64(value) else { throw ConfigurationError("\(key): expected a number, got `\(value)`") }
            return number
        }
        func boolean(_ value: String) throws(ConfigurationError) -> Bool {
            switch value.lowercased() {
            case "true", "yes", "1": return true
            case "false", "no", "0": return false
            default: throw ConfigurationError("\(key): expected true or false, got `\(value)`")
            }
        }
        switch key {
        case "listen":
            (listenHost, listenPort) = try Self.parseHostPort(value, option: key)
        case "advertise", "advertised.listeners":
            let (host, port) = try Self.parseHostPort(value, option: key)
            advertisedHost = host
            advertisedPort = port
        case "data.dir", "log.dirs", "log.dir":
            guard !value.isEmpty else { throw ConfigurationError("\(key): expected a directory") }
            dataDirectory = value
        case "node.id", "broker.id":
            nodeID = Int32(clamping: try integer(value))
        case "auto.create.topics.enable":
            autoCreateTopics = try boolean(value)
        case "num.partitions":
            let count = try integer(value)
            guard count > 0 else { throw ConfigurationError("num.partitions must be at least 1") }
            defaultPartitionCount = Int32(clamping: count)
        case "log.retention.ms":
            let ms = try integer(value)
            logDefaults.retentionMilliseconds = ms < 0 ? nil : ms
        case "log.retention.minutes":
            logDefaults.retentionMilliseconds = try integer(value) * 60_000
        case "log.retention.hours":
            logDefaults.retentionMilliseconds = try integer(value) * 3_600_000
        case "log.retention.bytes":
            let bytes = try integer(value)
            logDefaults.retentionBytes = bytes < 0 ? nil : bytes
        case "log.segment.bytes":
            let bytes = try integer(value)
            guard bytes >= 1024 else { throw ConfigurationError("log.segment.bytes must be at least 1024") }
            logDefaults.segmentBytes = Int(bytes)
        case "log.roll.ms":
            logDefaults.segmentMilliseconds = try integer(value)
        case "log.roll.hours":
            logDefaults.segmentMilliseconds = try integer(value) * 3_600_000
        case "log.cleanup.policy":
            guard let policy = TopicConfigs.cleanupPolicy(value) else {
                throw ConfigurationError("log.cleanup.policy: expected delete, compact or compact,delete")
            }
            logDefaults.cleanupPolicy = policy
        case "log.message.timestamp.type":
            switch value {
            case "CreateTime": logDefaults.timestampType = .createTime
            case "LogAppendTime": logDefaults.timestampType = .logAppendTime
            default: throw ConfigurationError("log.message.timestamp.type: expected CreateTime or LogAppendTime")
            }
        case "message.max.bytes":
            logDefaults.maxBatchBytes = Int(try integer(value))
        case "socket.request.max.bytes":
            let bytes = try integer(value)
            guard bytes >= 1024 else { throw ConfigurationError("socket.request.max.bytes must be at least 1024") }
            maxFrameBytes = Int(bytes)
        case "log.flush.policy":
            switch value {
            case "group-commit": logDefaults.flushPolicy = .groupCommit
            case "interval": logDefaults.flushPolicy = .interval(messages: nil, milliseconds: 1000)
            case "none": logDefaults.flushPolicy = .none
            default: throw ConfigurationError("log.flush.policy: expected group-commit, interval or none")
            }
        case "log.flush.interval.messages":
            let messages = Int(try integer(value))
            if case .interval(_, let milliseconds) = logDefaults.flushPolicy {
                logDefaults.flushPolicy = .interval(messages: messages, milliseconds: milliseconds)
            } else {
                logDefaults.flushPolicy = .interval(messages: messages, milliseconds: nil)
            }
        case "log.flush.interval.ms":
            let milliseconds = try integer(value)
            if case .interval(let messages, _) = logDefaults.flushPolicy {
                logDefaults.flushPolicy = .interval(messages: messages, milliseconds: milliseconds)
            } else {
                logDefaults.flushPolicy = .interval(messages: nil, milliseconds: milliseconds)
            }
        case "maintenance.interval.ms":
            let milliseconds = try integer(value)
            guard milliseconds > 0 else { throw ConfigurationError("maintenance.interval.ms must be positive") }
            maintenanceInterval = .milliseconds(milliseconds)
        default:
            throw ConfigurationError("unknown setting `\(key)` (see `samsa serve --help` for the list)")
        }
    }

    /// Parses `HOST:PORT`, `:PORT` or `[IPv6]:PORT`.
    public static func parseHostPort(_ text: String, option: String) throws(ConfigurationError) -> (String, Int) {
        guard let colon = text.lastIndex(of: ":") else {
            throw ConfigurationError("\(option): expected HOST:PORT, got `\(text)`")
        }
        var host = String(text[..<colon])
        if host.hasPrefix("["), host.hasSuffix("]") {
            host = String(host.dropFirst().dropLast())
        }
        guard let port = Int(text[text.index(after: colon)...]), (0...65535).contains(port) else {
            throw ConfigurationError("\(option): `\(text)` has no valid port (0-65535)")
        }
        return (host.isEmpty ? "0.0.0.0" : host, port)
    }
}

extension StringProtocol {
    fileprivate func trimmingWhitespace() -> SubSequence {
        var start = startIndex
        var end = endIndex
        while start < end, self[start].isWhitespace { start = index(after: start) }
        while end > start, self[index(before: end)].isWhitespace { end = index(before: end) }
        return self[start..<end]
    }
}
