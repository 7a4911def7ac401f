import Logging
import SamsaProtocol

/// DescribeConfigs (key 32), versions 0-4.
///
/// A topic resource lists every topic config with its value in force and where it comes from
/// (the topic's override, the broker's static config, or Kafka's default), with synonyms
/// when asked; a broker resource named by this node's id lists the broker configs of
/// ``BrokerConfigs`` (all read-only: dynamic broker configs are not supported, so the default
/// resource "" has none); a broker-logger resource lists the root logger's level.
/// ConfigurationKeys, when given, filter the list; unknown keys are left out, as in Kafka.
/// ConfigType (v3+) is reported; Documentation is always null. Errors as Kafka:
/// UNKNOWN_TOPIC_OR_PARTITION, INVALID_TOPIC_EXCEPTION, INVALID_REQUEST for a bad broker id
/// or an unsupported resource type.
struct DescribeConfigsHandler: RequestHandler {
    typealias Request = DescribeConfigsRequest

    let core: BrokerCore

    func handle(_ request: DescribeConfigsRequest, context: RequestContext) async throws -> DescribeConfigsResponse? {
        var response = DescribeConfigsResponse()
        response.results = request.resources.map { resource in
            var result = DescribeConfigsResponse.DescribeConfigsResult()
            result.resourceType = resource.resourceType
            result.resourceName = resource.resourceName
            if let refusal = context.configRefusal(
                .describeConfigs, resourceType: resource.resourceType, resourceName: resource.resourceName)
            {
                result.errorCode = refusal.code.rawValue
                result.errorMessage = refusal.message
                return result
            }
            switch entries(for: resource) {
            case .success(let entries):
                result.errorCode = ErrorCode.noError.rawValue
                result.errorMessage = nil
                let keys = resource.configurationKeys ?? []
                let wanted = keys.isEmpty ? entries : entries.filter { keys.contains($0.name) }
                result.configs = wanted.map { describe($0, includeSynonyms: request.includeSynonyms) }
            case .failure(let failure):
                result.errorCode = failure.code.rawValue
                result.errorMessage = failure.message
            }
            return result
        }
        return response
    }

    private func entries(for resource: DescribeConfigsRequest.DescribeConfigsResource) -> Result<[ConfigEntry], ConfigChangeFailure> {
        let name = resource.resourceName
        switch ConfigResourceType(rawValue: resource.resourceType) {
        case .topic:
            if let problem = BrokerCore.topicNameProblem(name) {
                return .failure(.init(.invalidTopicException, problem))
            }
            guard let topic = core.topics.image.topic(named: name) else {
                return .failure(.init(.unknownTopicOrPartition, KafkaMessage.unknownTopicOrPartition))
            }
            return .success(core.topicConfigEntries(overrides: topic.configs))
        case .broker:
            if name.isEmpty {
                return .success([])  // the cluster-wide dynamic defaults: none
            }
            if let failure = brokerIDProblem(name, emptyAllowed: true) { return .failure(failure) }
            return .success(core.brokerConfigValues.map(\.entry))
        case .brokerLogger:
            if name.isEmpty {
                return .failure(.init(.invalidRequest, "Broker id must not be empty"))
            }
            if let failure = brokerIDProblem(name, emptyAllowed: false) { return .failure(failure) }
            return .success([
                ConfigEntry(
                    name: "root", value: Self.kafkaLevel(core.logger.logLevel), source: .dynamicBrokerLoggerConfig,
                    type: .unknown, isReadOnly: false, isSensitive: false, synonyms: [])
            ])
        default:
            return .failure(.init(.invalidRequest, "Unsupported resource type: \(ConfigResourceType.name(of: resource.resourceType))"))
        }
    }

    private func brokerIDProblem(_ name: String, emptyAllowed: Bool) -> ConfigChangeFailure? {
        guard let id = Int32(name) else {
            return .init(.invalidRequest, "Broker id must be an integer, but it is: \(name)")
        }
        guard id == core.configuration.nodeID else {
            let expected = emptyAllowed ? "\(core.configuration.nodeID) or empty string" : "\(core.configuration.nodeID)"
            return .init(.invalidRequest, "Unexpected broker id, expected \(expected), but received \(name)")
        }
        return nil
    }

    private func describe(_ entry: ConfigEntry, includeSynonyms: Bool) -> DescribeConfigsResponse.DescribeConfigsResourceResult {
        var config = DescribeConfigsResponse.DescribeConfigsResourceResult()
        config.name = entry.name
        config.value = entry.value
        config.readOnly = entry.isReadOnly
        config.isDefault = entry.source == .defaultConfig
        config.configSource = entry.source.rawValue
        config.isSensitive = entry.isSensitive
        config.configType = entry.type.rawValue
        config.documentation = nil
        if includeSynonyms {
            config.synonyms = entry.synonyms.map { synonym in
                var result = DescribeConfigsResponse.DescribeConfigsSynonym()
                result.name = synonym.name
                result.value = synonym.value
                result.source = synonym.source.rawValue
                return result
            }
        }
        return config
    }

    /// A swift-log level under Kafka's (log4j) name.
    static func kafkaLevel(_ level: Logger.Level) -> String {
        switch level {
        case .trace: "TRACE"
        case .debug: "DEBUG"
        case .info, .notice: "INFO"
        case .warning: "WARN"
        case .error: "ERROR"
        case .critical: "FATAL"
        }
    }
}
