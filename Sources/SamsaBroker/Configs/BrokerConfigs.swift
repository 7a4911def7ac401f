import SamsaStorage

/// One broker setting: a Kafka broker config, or a setting of Samsa's own (`listen`,
/// `log.flush.policy`...). The rows of ``BrokerConfigs/definitions`` drive `samsa serve`'s
/// `--config` and `--set` (``apply``), its `--help` text (``documentation``) and what
/// DescribeConfigs lists for the broker (``listing``).
package struct BrokerConfigDefinition: Sendable {
    /// Sets the value from its text; the error says what is wrong with the value (the key is
    /// added by the caller).
    package typealias Apply = @Sendable (inout BrokerConfiguration, String) throws(ConfigurationError) -> Void

    /// How DescribeConfigs lists a Kafka config.
    package struct Listing: Sendable {
        /// Kafka's default, nil for null.
        package var kafkaDefault: String?
        /// The value in force.
        var value: @Sendable (BrokerConfigs.Settings) -> String?
    }

    package var name: String
    package var type: ConfigType
    /// What it does, for `samsa serve --help`; nil for a key left out there (an alias, or a
    /// Kafka config that Samsa fixes).
    package var documentation: String?
    /// nil for Samsa's own settings, which Kafka clients do not know.
    package var listing: Listing?
    /// nil for a Kafka config that Samsa fixes (the replication factors of a single broker...).
    package var apply: Apply?
}

/// The broker configs, with Kafka's names and defaults and this broker's values, and the
/// broker defaults behind topic configs (see ``TopicConfigs``).
///
/// A value differing from Kafka's default is reported as a static broker config (it comes
/// from `samsa serve`'s flags or file, or is fixed by Samsa, like the replication factors of
/// a single broker). All are read-only: dynamic broker configs are not supported.
package enum BrokerConfigs {
    /// What a listed value is read from: the configuration and the addresses in use.
    package struct Settings: Sendable {
        package var configuration: BrokerConfiguration
        package var advertised: (host: String, port: Int32)
        package var listenPort: Int
    }

    /// One broker config as configured.
    package struct Value: Sendable {
        package var name: String
        package var type: ConfigType
        /// Kafka's default, nil for null.
        package var kafkaDefault: String?
        /// The value in force, nil for null.
        package var value: String?
        package var isSensitive: Bool = false

        /// Where the value comes from.
        package var source: ConfigSource { value == kafkaDefault ? .defaultConfig : .staticBrokerConfig }

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
    package static func values(for configuration: BrokerConfiguration, advertised: (host: String, port: Int32), listenPort: Int) -> [Value]
    {
        let settings = Settings(configuration: configuration, advertised: advertised, listenPort: listenPort)
        return definitions.compactMap { definition in
            definition.listing.map { listing in
                Value(name: definition.name, type: definition.type, kafkaDefault: listing.kafkaDefault, value: listing.value(settings))
            }
        }.sorted { $0.name < $1.name }
    }

    /// The setting `name` (a key of `--config`, or a listed Kafka config).
    package static func definition(named name: String) -> BrokerConfigDefinition? { definitionsByName[name] }

    private static let definitionsByName: [String: BrokerConfigDefinition] =
        Dictionary(uniqueKeysWithValues: definitions.map { ($0.name, $0) })

    /// Every broker setting: Samsa's own first, then Kafka's by name, then the security
    /// settings. `--help` lists the documented ones in this order.
    package static let definitions: [BrokerConfigDefinition] = generalDefinitions + securityDefinitions

    private static let generalDefinitions: [BrokerConfigDefinition] = [
        samsa("listen", "HOST:PORT to listen on (default 127.0.0.1:9092)") { configuration, value throws(ConfigurationError) in
            (configuration.listenHost, configuration.listenPort) = try BrokerConfiguration.parseHostPort(value)
        },
        samsa(
            "advertise", "HOST:PORT clients are told to connect to (default: the listen address; alias advertised.listeners)",
            setAdvertised),
        samsa("data.dir", "directory for logs and metadata (default ./samsa-data; alias log.dirs)", setDataDirectory),
        samsa("log.flush.policy", "group-commit (acks=all waits for fsync), interval, or none (default group-commit)") {
            configuration, value throws(ConfigurationError) in
            switch value {
            case "group-commit": configuration.logDefaults.flushPolicy = .groupCommit
            case "interval": configuration.logDefaults.flushPolicy = .interval(messages: nil, milliseconds: 1000)
            case "none": configuration.logDefaults.flushPolicy = .none
            default: throw ConfigurationError("expected group-commit, interval or none")
            }
        },
        samsa("log.retention.minutes", nil) { configuration, value throws(ConfigurationError) in
            configuration.logDefaults.retentionMilliseconds = try integer(value) * 60_000
        },
        samsa("maintenance.interval.ms", "how often retention, compaction and checkpoints run (default 30000)") {
            configuration, value throws(ConfigurationError) in
            let milliseconds = try integer(value)
            guard milliseconds > 0 else { throw ConfigurationError("must be positive") }
            configuration.maintenanceInterval = .milliseconds(milliseconds)
        },

        kafka(
            "advertised.listeners", .string, nil, advertisedListeners,
            "NAME://HOST:PORT,... clients of each listener are told to connect to (default: the listen addresses)",
            set: setAdvertised),
        kafka(
            "auto.create.topics.enable", .boolean, "true", { String($0.configuration.autoCreateTopics) },
            "create unknown topics on Metadata requests (default true)"
        ) { configuration, value throws(ConfigurationError) in
            configuration.autoCreateTopics = try boolean(value)
        },
        kafka("broker.id", .int, "-1", { String($0.configuration.nodeID) }, set: setNodeID),
        fixed("compression.gzip.level", .int, "-1", "-1"),
        fixed("compression.lz4.level", .int, "9", "9"),
        fixed("compression.type", .string, "producer", "producer"),
        fixed("compression.zstd.level", .int, "3", "3"),
        fixed("default.replication.factor", .int, "1", "1"),
        fixed("delete.topic.enable", .boolean, "true", "true"),
        kafka(
            "listeners", .string, "PLAINTEXT://:9092", listeners,
            "NAME://HOST:PORT,... to listen on, NAME a security protocol or mapped to one (default PLAINTEXT://127.0.0.1:9092)"
        ) { configuration, value throws(ConfigurationError) in
            let previous = configuration.listeners
            configuration.listeners = try ListenerConfiguration.parseList(value).map { name, host, port in
                let kept = previous.first { $0.name == name }
                return ListenerConfiguration(
                    name: name, host: host, port: port, advertisedHost: kept?.advertisedHost, advertisedPort: kept?.advertisedPort)
            }
        },
        kafka("log.cleaner.delete.retention.ms", .long, "86400000", { String($0.configuration.logDefaults.deleteRetentionMilliseconds) }),
        fixed("log.cleaner.enable", .boolean, "true", "true"),
        fixed("log.cleaner.max.compaction.lag.ms", .long, TopicConfigs.longMax, TopicConfigs.longMax),
        fixed("log.cleaner.min.cleanable.ratio", .double, "0.5", "0.5"),
        fixed("log.cleaner.min.compaction.lag.ms", .long, "0", "0"),
        fixed("log.cleaner.threads", .int, "1", "1"),
        kafka(
            "log.cleanup.policy", .list, "delete", { TopicConfigs.string(of: $0.configuration.logDefaults.cleanupPolicy) },
            "delete, compact, or compact,delete (default delete)"
        ) { configuration, value throws(ConfigurationError) in
            guard let policy = TopicConfigs.cleanupPolicy(value) else {
                throw ConfigurationError("expected delete, compact or compact,delete")
            }
            configuration.logDefaults.cleanupPolicy = policy
        },
        kafka("log.dir", .string, "/tmp/kafka-logs", { $0.configuration.dataDirectory }, set: setDataDirectory),
        kafka("log.dirs", .string, nil, { $0.configuration.dataDirectory }, set: setDataDirectory),
        kafka(
            "log.flush.interval.messages", .long, TopicConfigs.longMax, { flushInterval(of: $0).messages },
            "with the interval policy: fsync after this many messages"
        ) { configuration, value throws(ConfigurationError) in
            let messages = Int(try integer(value))
            var milliseconds: Int64?
            if case .interval(_, let current) = configuration.logDefaults.flushPolicy { milliseconds = current }
            configuration.logDefaults.flushPolicy = .interval(messages: messages, milliseconds: milliseconds)
        },
        kafka(
            "log.flush.interval.ms", .long, TopicConfigs.longMax, { flushInterval(of: $0).milliseconds },
            "with the interval policy: fsync data older than this"
        ) { configuration, value throws(ConfigurationError) in
            let milliseconds = try integer(value)
            var messages: Int?
            if case .interval(let current, _) = configuration.logDefaults.flushPolicy { messages = current }
            configuration.logDefaults.flushPolicy = .interval(messages: messages, milliseconds: milliseconds)
        },
        kafka(
            "log.index.interval.bytes", .int, String(LogConfig().indexIntervalBytes),
            { String($0.configuration.logDefaults.indexIntervalBytes) }),
        kafka("log.index.size.max.bytes", .int, "10485760", { String($0.configuration.logDefaults.maxIndexEntries * 8) }),
        fixed("log.local.retention.bytes", .long, "-2", "-2"),
        fixed("log.local.retention.ms", .long, "-2", "-2"),
        fixed("log.message.timestamp.after.max.ms", .long, "3600000", "3600000"),
        fixed("log.message.timestamp.before.max.ms", .long, TopicConfigs.longMax, TopicConfigs.longMax),
        kafka(
            "log.message.timestamp.type", .string, "CreateTime",
            { $0.configuration.logDefaults.timestampType == .logAppendTime ? "LogAppendTime" : "CreateTime" },
            "CreateTime or LogAppendTime (default CreateTime)"
        ) { configuration, value throws(ConfigurationError) in
            switch value {
            case "CreateTime": configuration.logDefaults.timestampType = .createTime
            case "LogAppendTime": configuration.logDefaults.timestampType = .logAppendTime
            default: throw ConfigurationError("expected CreateTime or LogAppendTime")
            }
        },
        fixed("log.preallocate", .boolean, "false", "false"),
        kafka(
            "log.retention.bytes", .long, "-1", { String($0.configuration.logDefaults.retentionBytes ?? -1) },
            "delete the oldest data while a partition is larger; -1: no limit (default -1)"
        ) { configuration, value throws(ConfigurationError) in
            let bytes = try integer(value)
            configuration.logDefaults.retentionBytes = bytes < 0 ? nil : bytes
        },
        kafka("log.retention.check.interval.ms", .long, "300000", { String(milliseconds($0.configuration.maintenanceInterval)) }),
        // Listed as Kafka's default whatever is set: the value in force is log.retention.ms.
        kafka("log.retention.hours", .int, "168", { _ in "168" }) { configuration, value throws(ConfigurationError) in
            configuration.logDefaults.retentionMilliseconds = try integer(value) * 3_600_000
        },
        kafka(
            "log.retention.ms", .long, "604800000", { String($0.configuration.logDefaults.retentionMilliseconds ?? -1) },
            "delete data older than this; -1 keeps it forever (default 7 days; also .minutes, .hours)"
        ) {
            configuration, value throws(ConfigurationError) in
            let milliseconds = try integer(value)
            configuration.logDefaults.retentionMilliseconds = milliseconds < 0 ? nil : milliseconds
        },
        kafka("log.roll.hours", .int, "168", { _ in "168" }) { configuration, value throws(ConfigurationError) in
            configuration.logDefaults.segmentMilliseconds = try integer(value) * 3_600_000
        },
        fixed("log.roll.jitter.ms", .long, "0", "0"),
        kafka(
            "log.roll.ms", .long, "604800000", { String($0.configuration.logDefaults.segmentMilliseconds) },
            "roll a segment at this age (default 7 days; also log.roll.hours)"
        ) { configuration, value throws(ConfigurationError) in
            configuration.logDefaults.segmentMilliseconds = try integer(value)
        },
        kafka(
            "log.segment.bytes", .int, "1073741824", { String($0.configuration.logDefaults.segmentBytes) },
            "roll a segment at this size (default 1 GiB)"
        ) { configuration, value throws(ConfigurationError) in
            configuration.logDefaults.segmentBytes = Int(try integer(value, atLeast: 1024))
        },
        fixed("log.segment.delete.delay.ms", .long, "60000", "60000"),
        kafka(
            "message.max.bytes", .int, "1048588", { String($0.configuration.logDefaults.maxBatchBytes) },
            "largest record batch a topic accepts (default 1048588)"
        ) { configuration, value throws(ConfigurationError) in
            configuration.logDefaults.maxBatchBytes = Int(try integer(value))
        },
        fixed("min.insync.replicas", .int, "1", "1"),
        kafka("node.id", .int, "-1", { String($0.configuration.nodeID) }, "this broker's node id (default 1)", set: setNodeID),
        kafka("num.io.threads", .int, "8", { String($0.configuration.blockingThreadCount) }),
        kafka(
            "num.partitions", .int, "1", { String($0.configuration.defaultPartitionCount) },
            "partitions of auto-created topics (default 1)"
        ) { configuration, value throws(ConfigurationError) in
            configuration.defaultPartitionCount = Int32(clamping: try integer(value, atLeast: 1))
        },
        fixed("offsets.topic.num.partitions", .int, "50", "50"),
        fixed("offsets.topic.replication.factor", .short, "3", "1"),
        fixed("process.roles", .list, "", "broker,controller"),
        kafka(
            "socket.request.max.bytes", .int, "104857600", { String($0.configuration.maxFrameBytes) },
            "largest request frame (default 104857600)"
        ) { configuration, value throws(ConfigurationError) in
            configuration.maxFrameBytes = Int(try integer(value, atLeast: 1024))
        },
        fixed("transaction.state.log.min.isr", .int, "2", "1"),
        fixed("transaction.state.log.num.partitions", .int, "50", "50"),
        fixed("transaction.state.log.replication.factor", .short, "3", "1"),
        fixed("unclean.leader.election.enable", .boolean, "false", "false"),
    ]

    // MARK: Building the table

    /// A setting of Samsa's own, for `--config` only.
    static func samsa(
        _ name: String, _ documentation: String?, _ apply: @escaping BrokerConfigDefinition.Apply
    ) -> BrokerConfigDefinition {
        BrokerConfigDefinition(name: name, type: .string, documentation: documentation, listing: nil, apply: apply)
    }

    /// A Kafka config with the value in force, settable when `set` is given.
    static func kafka(
        _ name: String, _ type: ConfigType, _ kafkaDefault: String?, _ value: @escaping @Sendable (Settings) -> String?,
        _ documentation: String? = nil, set: BrokerConfigDefinition.Apply? = nil
    ) -> BrokerConfigDefinition {
        BrokerConfigDefinition(
            name: name, type: type, documentation: documentation, listing: .init(kafkaDefault: kafkaDefault, value: value),
            apply: set)
    }

    /// A Kafka config that Samsa fixes at `value`.
    static func fixed(_ name: String, _ type: ConfigType, _ kafkaDefault: String?, _ value: String?) -> BrokerConfigDefinition {
        kafka(name, type, kafkaDefault, { _ in value })
    }

    // MARK: Values shared by several rows

    /// `HOST:PORT` for the first listener, or Kafka's `NAME://HOST:PORT,...` naming listeners
    /// already set.
    private static let setAdvertised: BrokerConfigDefinition.Apply = { configuration, value throws(ConfigurationError) in
        guard value.contains("://") else {
            let (host, port) = try BrokerConfiguration.parseHostPort(value)
            configuration.advertisedHost = host
            configuration.advertisedPort = port
            return
        }
        for (name, host, port) in try ListenerConfiguration.parseList(value) {
            guard let index = configuration.listeners.firstIndex(where: { $0.name == name }) else {
                throw ConfigurationError("\(name) is not in listeners (set listeners first)")
            }
            configuration.listeners[index].advertisedHost = host
            configuration.listeners[index].advertisedPort = port
        }
    }

    /// The listeners as bound (the first with its real port).
    private static func listeners(_ settings: Settings) -> String {
        settings.configuration.listeners.enumerated().map { index, listener in
            var listener = listener
            if index == 0 { listener.port = settings.listenPort }
            return listener.description
        }.joined(separator: ",")
    }

    private static func advertisedListeners(_ settings: Settings) -> String {
        settings.configuration.listeners.enumerated().map { index, listener in
            if index == 0 { return "\(listener.name)://\(settings.advertised.host):\(settings.advertised.port)" }
            return "\(listener.name)://\(listener.advertisedHost ?? listener.host):\(listener.advertisedPort ?? listener.port)"
        }.joined(separator: ",")
    }

    private static let setDataDirectory: BrokerConfigDefinition.Apply = { configuration, value throws(ConfigurationError) in
        guard !value.isEmpty else { throw ConfigurationError("expected a directory") }
        configuration.dataDirectory = value
    }

    private static let setNodeID: BrokerConfigDefinition.Apply = { configuration, value throws(ConfigurationError) in
        configuration.nodeID = Int32(clamping: try integer(value))
    }

    /// `log.flush.interval.messages` and `.ms` as listed: Kafka's "never" unless the interval
    /// policy sets them.
    private static func flushInterval(of settings: Settings) -> (messages: String, milliseconds: String) {
        guard case .interval(let messages, let milliseconds) = settings.configuration.logDefaults.flushPolicy else {
            return (TopicConfigs.longMax, TopicConfigs.longMax)
        }
        return (messages.map(String.init) ?? TopicConfigs.longMax, milliseconds.map(String.init) ?? TopicConfigs.longMax)
    }

    private static func milliseconds(_ duration: Duration) -> Int64 {
        let (seconds, attoseconds) = duration.components
        return seconds * 1000 + attoseconds / 1_000_000_000_000_000
    }

    // MARK: Parsing values

    static func integer(_ value: String, atLeast minimum: Int64? = nil) throws(ConfigurationError) -> Int64 {
        guard let number = Int64(value) else { throw ConfigurationError("expected a number, got `\(value)`") }
        if let minimum, number < minimum { throw ConfigurationError("must be at least \(minimum)") }
        return number
    }

    static func boolean(_ value: String) throws(ConfigurationError) -> Bool {
        switch value.lowercased() {
        case "true", "yes", "1": return true
        case "false", "no", "0": return false
        default: throw ConfigurationError("expected true or false, got `\(value)`")
        }
    }
}
