import SamsaBinary
import SamsaProtocol

/// DeleteTopics (key 20), versions 0-6.
///
/// Topics are named in TopicNames (v1-5) or in Topics by name or by id (v6+). As Kafka's
/// controller does: a v6 entry with both or neither of name and id is INVALID_REQUEST; a
/// name or id given twice (or a name whose id is also given) gets one INVALID_REQUEST
/// result; an unknown name is UNKNOWN_TOPIC_OR_PARTITION and an unknown id UNKNOWN_TOPIC_ID.
/// Internal topics can be deleted, as in Kafka. Deletion is synchronous (TimeoutMs is not
/// needed). Kafka shuffles the results; they come here in a fixed order: request problems,
/// then unknown ids, then names, then deletions.
struct DeleteTopicsHandler: RequestHandler {
    typealias Request = DeleteTopicsRequest

    let core: BrokerCore

    typealias TopicResult = DeleteTopicsResponse.DeletableTopicResult

    func handle(_ request: DeleteTopicsRequest, context: RequestContext) async throws -> DeleteTopicsResponse? {
        var results: [TopicResult] = []
        let named = Self.namedTopics(in: request, version: context.apiVersion, problems: &results)
        let resolved = Self.resolve(named, in: core.topics.image, unknown: &results)
        let doomed = resolved.filter { context.allows(.delete, .topic, $0.name) }
        for topic in resolved where !context.allows(.delete, .topic, topic.name) {
            results.append(Self.result(topic.name, topic.id, .topicAuthorizationFailed, "Authorization failed."))
        }
        results += try await delete(doomed)
        var response = DeleteTopicsResponse()
        response.responses = results
        return response
    }

    /// The topics a request names, each name and id once; the request's problems (entries
    /// with both or neither of name and id, names and ids given twice) go to `problems`.
    private static func namedTopics(
        in request: DeleteTopicsRequest, version: Int16, problems: inout [TopicResult]
    ) -> (names: [String], ids: [KafkaUUID]) {
        var names = NamedOnce<String>()
        var ids = NamedOnce<KafkaUUID>()
        if version < 6 {
            for name in request.topicNames { names.add(name) }
        }
        for topic in request.topics {
            switch (topic.name, topic.topicId.isZero) {
            case (nil, true): problems.append(result(nil, .zero, .invalidRequest, "Neither topic name nor id were specified."))
            case (nil, false): ids.add(topic.topicId)
            case (let name?, true): names.add(name)
            case (let name?, false):
                problems.append(result(name, topic.topicId, .invalidRequest, "You may not specify both topic name and topic id."))
            }
        }
        problems += names.repeated.map { result($0, .zero, .invalidRequest, KafkaMessage.duplicateTopicName) }
        problems += ids.repeated.map { result(nil, $0, .invalidRequest, "Duplicate topic id.") }
        return (names.once, ids.once)
    }

    /// The (name, id) pairs to delete, resolved against one image; unknown names and ids, and
    /// names whose id is also given, go to `unknown`.
    private static func resolve(
        _ named: (names: [String], ids: [KafkaUUID]), in image: MetadataImage, unknown: inout [TopicResult]
    ) -> [(name: String, id: KafkaUUID)] {
        var doomed: [(name: String, id: KafkaUUID)] = []
        for id in named.ids {
            guard let topic = image.topic(id: id) else {
                unknown.append(result(nil, id, .unknownTopicId, KafkaMessage.unknownTopicId))
                continue
            }
            doomed.append((topic.name, id))
        }
        for name in named.names {
            guard let topic = image.topic(named: name) else {
                unknown.append(result(name, .zero, .unknownTopicOrPartition, KafkaMessage.unknownTopicOrPartition))
                continue
            }
            if let index = doomed.firstIndex(where: { $0.id == topic.id }) {
                doomed.remove(at: index)
                unknown.append(result(name, topic.id, .invalidRequest, "The provided topic name maps to an ID that was already supplied."))
                continue
            }
            doomed.append((name, topic.id))
        }
        return doomed
    }

    /// Deletes the topics on the blocking pool, each one's result in order.
    private func delete(_ doomed: [(name: String, id: KafkaUUID)]) async throws -> [TopicResult] {
        let core = self.core
        return try await core.blocking.run {
            try doomed.map { topic in
                // The topic may have been deleted (or deleted and re-created) since the lookup.
                guard core.topics.image.topic(named: topic.name)?.id == topic.id else {
                    return Self.result(topic.name, topic.id, .unknownTopicId, KafkaMessage.unknownTopicId)
                }
                let deleted = try core.deleteTopic(named: topic.name)
                let code = deleted.errorCode
                return Self.result(topic.name, topic.id, code, code == .noError ? nil : deleted.errorMessage)
            }
        }
    }

    private static func result(_ name: String?, _ id: KafkaUUID, _ code: ErrorCode, _ message: String?) -> TopicResult {
        var result = TopicResult()
        result.name = name
        result.topicId = id
        result.errorCode = code.rawValue
        result.errorMessage = message
        return result
    }
}

/// Values named in a request, split into those named once and those named more than once
/// (Kafka answers each of the latter with one INVALID_REQUEST), in the order first named.
private struct NamedOnce<Value: Equatable> {
    private(set) var once: [Value] = []
    private(set) var repeated: [Value] = []

    mutating func add(_ value: Value) {
        if repeated.contains(value) { return }
        if let index = once.firstIndex(of: value) {
            once.remove(at: index)
            repeated.append(value)
        } else {
            once.append(value)
        }
    }
}
