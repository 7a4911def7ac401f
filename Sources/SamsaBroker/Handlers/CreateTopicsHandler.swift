import SamsaProtocol

/// CreateTopics (key 19), versions 0-7.
///
/// Validates each topic as Kafka's controller does, in its order (name and collisions,
/// existence, configs, then manual assignments or partition count and replication factor);
/// see ``BrokerCore/createTopic(name:partitionCount:replicationFactor:assignments:configs:validateOnly:)``.
/// A name that appears twice in one request gets a single INVALID_REQUEST result
/// ("Duplicate topic name."), listed after the others, as Kafka does. Creation is synchronous,
/// so TimeoutMs is not needed. v5+ successes carry the partition count, replication factor 1
/// and the topic's full effective config list; TopicId (v7) is the new topic's id, also when
/// only validating (a fresh random id, as Kafka returns).
struct CreateTopicsHandler: RequestHandler {
    typealias Request = CreateTopicsRequest

    let core: BrokerCore

    func handle(_ request: CreateTopicsRequest, context: RequestContext) async throws -> CreateTopicsResponse? {
        var seen = Set<String>()
        var duplicates: [String] = []
        for topic in request.topics where !seen.insert(topic.name).inserted && !duplicates.contains(topic.name) {
            duplicates.append(topic.name)
        }
        let core = self.core
        let validateOnly = request.validateOnly
        // CREATE on the cluster allows every topic; otherwise CREATE on the topic is needed.
        let creatable = context.allows(.create, .cluster)
        let refused = request.topics.filter { !duplicates.contains($0.name) && !creatable && !context.allows(.create, .topic, $0.name) }
        let wanted = request.topics.filter { topic in !duplicates.contains(topic.name) && !refused.contains { $0.name == topic.name } }
        var results = try await core.blocking.run {
            try wanted.map { try Self.create($0, validateOnly: validateOnly, core: core) }
        }
        for topic in refused {
            var result = CreateTopicsResponse.CreatableTopicResult()
            result.name = topic.name
            result.errorCode = ErrorCode.topicAuthorizationFailed.rawValue
            result.errorMessage = "Authorization failed."
            results.append(result)
        }
        for name in duplicates {
            var result = CreateTopicsResponse.CreatableTopicResult()
            result.name = name
            result.errorCode = ErrorCode.invalidRequest.rawValue
            result.errorMessage = KafkaMessage.duplicateTopicName
            results.append(result)
        }
        var response = CreateTopicsResponse()
        response.topics = results
        return response
    }

    private static func create(
        _ topic: CreateTopicsRequest.CreatableTopic, validateOnly: Bool, core: BrokerCore
    ) throws -> CreateTopicsResponse.CreatableTopicResult {
        var configs: [String: String?] = [:]
        for config in topic.configs {
            configs[config.name] = .some(config.value)
        }
        let outcome = try core.createTopic(
            name: topic.name, partitionCount: topic.numPartitions, replicationFactor: topic.replicationFactor,
            assignments: topic.assignments.map { (partition: $0.partitionIndex, brokers: $0.brokerIds) },
            configs: configs, validateOnly: validateOnly)
        var result = CreateTopicsResponse.CreatableTopicResult()
        result.name = topic.name
        result.errorCode = outcome.errorCode.rawValue
        result.errorMessage = outcome.errorMessage
        guard outcome.errorCode == .noError, let created = outcome.topic else { return result }
        result.topicId = created.id
        result.numPartitions = created.partitionCount
        result.replicationFactor = 1
        result.topicConfigErrorCode = ErrorCode.noError.rawValue
        result.configs = core.topicConfigEntries(overrides: created.configs).map { entry in
            var config = CreateTopicsResponse.CreatableTopicConfigs()
            config.name = entry.name
            config.value = entry.value
            config.readOnly = entry.isReadOnly
            config.configSource = entry.source.rawValue
            config.isSensitive = entry.isSensitive
            return config
        }
        return result
    }
}
