import SamsaProtocol

/// CreatePartitions (key 37), versions 0-3.
///
/// Grows topics: a count equal to or below the current one is INVALID_PARTITIONS with
/// Kafka's messages; optional manual assignments must list one replica set per new partition,
/// each exactly this broker (INVALID_REPLICA_ASSIGNMENT otherwise); an unknown topic is
/// UNKNOWN_TOPIC_OR_PARTITION (with no message, as Kafka sends it). A topic named twice gets
/// INVALID_REQUEST ("Duplicate topic name."). ValidateOnly checks without changing anything.
/// The new partition count is recorded durably before the new logs are created.
struct CreatePartitionsHandler: RequestHandler {
    typealias Request = CreatePartitionsRequest

    let core: BrokerCore

    func handle(_ request: CreatePartitionsRequest, context: RequestContext) async throws -> CreatePartitionsResponse? {
        let counts = Dictionary(request.topics.map { ($0.name, 1) }, uniquingKeysWith: +)
        let core = self.core
        let validateOnly = request.validateOnly
        let topics = request.topics
        var reportedDuplicates = Set<String>()
        var results: [CreatePartitionsResponse.CreatePartitionsTopicResult] = []
        let alterable = Set(topics.map(\.name).filter { context.allows(.alter, .topic, $0) })
        let outcomes = try await core.blocking.run {
            try topics.map { topic -> TopicChangeResult? in
                guard counts[topic.name] == 1, alterable.contains(topic.name) else { return nil }
                return try core.createPartitions(
                    name: topic.name, count: topic.count, assignments: topic.assignments?.map(\.brokerIds),
                    validateOnly: validateOnly)
            }
        }
        for (topic, outcome) in zip(topics, outcomes) {
            var result = CreatePartitionsResponse.CreatePartitionsTopicResult()
            result.name = topic.name
            if counts[topic.name] == 1, !alterable.contains(topic.name) {
                result.errorCode = ErrorCode.topicAuthorizationFailed.rawValue
                result.errorMessage = "Authorization failed."
            } else if let outcome {
                result.errorCode = outcome.errorCode.rawValue
                result.errorMessage = outcome.errorMessage
            } else {
                guard reportedDuplicates.insert(topic.name).inserted else { continue }
                result.errorCode = ErrorCode.invalidRequest.rawValue
                result.errorMessage = KafkaMessage.duplicateTopicName
            }
            results.append(result)
        }
        var response = CreatePartitionsResponse()
        response.results = results
        return response
    }
}
