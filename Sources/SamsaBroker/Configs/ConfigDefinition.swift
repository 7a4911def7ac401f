import SamsaProtocol
import SamsaStorage

/// A config's type as DescribeConfigs (v3+) reports it, with Kafka's ids.
package enum ConfigType: Int8, Sendable {
    case unknown = 0
    case boolean = 1
    case string = 2
    case int = 3
    case short = 4
    case long = 5
    case double = 6
    case list = 7
    case `class` = 8
    case password = 9
}

/// Where a config's value comes from, with Kafka's ids (DescribeConfigs v1+, CreateTopics v5+).
package enum ConfigSource: Int8, Sendable {
    case unknown = 0
    /// Set on the topic (Kafka's `DYNAMIC_TOPIC_CONFIG`).
    case topicConfig = 1
    case dynamicBrokerConfig = 2
    case dynamicDefaultBrokerConfig = 3
    /// Set in the broker's own configuration (flags or config file).
    case staticBrokerConfig = 4
    /// Kafka's default, unchanged.
    case defaultConfig = 5
    case dynamicBrokerLoggerConfig = 6
}

/// The config resource types of DescribeConfigs and the AlterConfigs APIs (Kafka's
/// `ConfigResource.Type`).
extension RequestContext {
    /// Whether the principal may do `operation` (DESCRIBE_CONFIGS or ALTER_CONFIGS) on a config
    /// resource; the refusal's code if not: TOPIC_ or CLUSTER_AUTHORIZATION_FAILED.
    func configRefusal(_ operation: AclOperation, resourceType: Int8, resourceName: String) -> ConfigChangeFailure? {
        switch ConfigResourceType(rawValue: resourceType) {
        case .topic:
            return allows(operation, .topic, resourceName) ? nil : ConfigChangeFailure(.topicAuthorizationFailed, "Authorization failed.")
        case .group:
            return allows(operation, .group, resourceName) ? nil : ConfigChangeFailure(.groupAuthorizationFailed, "Authorization failed.")
        default:
            return allows(operation, .cluster) ? nil : ConfigChangeFailure(.clusterAuthorizationFailed, "Authorization failed.")
        }
    }
}

package enum ConfigResourceType: Int8, Sendable {
    case unknown = 0
    case topic = 2
    case broker = 4
    case brokerLogger = 8
    case clientMetrics = 16
    case group = 32

    /// Kafka's name of the type, as its error messages spell it.
    package static func name(of rawValue: Int8) -> String {
        switch ConfigResourceType(rawValue: rawValue) ?? .unknown {
        case .unknown: "UNKNOWN"
        case .topic: "TOPIC"
        case .broker: "BROKER"
        case .brokerLogger: "BROKER_LOGGER"
        case .clientMetrics: "CLIENT_METRICS"
        case .group: "GROUP"
        }
    }
}

/// One topic config: its Kafka name, type, Kafka's default, the broker config that supplies
/// the default (`retention.ms` ← `log.retention.ms`), the values it accepts, and what it
/// changes in the topic's `LogConfig`.
package struct ConfigDefinition: Sendable {
    /// Sets a valid, trimmed value on a log's configuration; an unparsable one changes nothing.
    package typealias ApplyToLog = @Sendable (inout LogConfig, String) -> Void

    package var name: String
    package var type: ConfigType
    /// Kafka's default as a string; nil for a null default.
    package var defaultValue: String?
    /// The broker config whose value is the topic's default, if any.
    package var brokerSynonym: String?
    /// The values it accepts.
    package var rule: ConfigRule
    /// nil for a config storage does not act on: kept and reported only.
    package var applyToLog: ApplyToLog?

    package init(
        _ name: String, _ type: ConfigType, _ defaultValue: String?, broker: String?, _ rule: ConfigRule,
        log applyToLog: ApplyToLog? = nil
    ) {
        self.name = name
        self.type = type
        self.defaultValue = defaultValue
        self.brokerSynonym = broker
        self.rule = rule
        self.applyToLog = applyToLog
    }

    /// Why `value` is not acceptable, in Kafka's words, or nil if it is.
    package func problem(with value: String) -> String? {
        guard let reason = rule.problem(with: value, type: type) else { return nil }
        return "Invalid value \(value) for configuration \(name): \(reason)"
    }
}

/// A config as DescribeConfigs and CreateTopics report it.
package struct ConfigEntry: Sendable, Equatable {
    /// A value the config takes from one source, most specific first.
    package struct Synonym: Sendable, Equatable {
        package var name: String
        package var value: String?
        package var source: ConfigSource
    }

    package var name: String
    /// nil for sensitive configs and null values.
    package var value: String?
    package var source: ConfigSource
    package var type: ConfigType
    package var isReadOnly: Bool
    package var isSensitive: Bool
    /// Every source that sets the config, the one in force first.
    package var synonyms: [Synonym]
}
