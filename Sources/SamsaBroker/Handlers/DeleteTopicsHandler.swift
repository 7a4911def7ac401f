import SamsaBinary
import SamsaProtocol

/// DeleteTopics (key 20), versions 1-6.
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

    func handle(_ request: DeleteTopicsRequest, context: RequestContext) async throws -> DeleteTopicsResponse? {
        var results: [DeleteTopicsResponse.DeletableTopicResult] = []
        func answer(_ name: String?, _ id: KafkaUUID, _ code: ErrorCode, _ message: String?) {
            var result = DeleteTopicsResponse.DeletableTopicResult()
            result.name = name
            result.topicId = id
            result.errorCode = code.rawValue
            result.errorMessage = message
            results.append(result)
        }

        var names: [String] = []
        var duplicateNames: [String] = []
        var ids: [KafkaUUID] = []
        var duplicateIDs: [KafkaUUID] = []
        func addName(_ name: String) {
            if duplicateNames.contains(name) { return }
            if let index = names.firstIndex(of: name) {
                names.remove(at: index)
                duplicateNames.append(name)
            } else {
                names.append(name)
            }
        }
        func addID(_ id: KafkaUUID) {
            if duplicateIDs.contains(id) { return }
            if let index = ids.firstIndex(of: id) {
                ids.remove(at: index)
                duplicateIDs.append(id)
            } else {
                ids.append(id)
            }
        }
        if context.apiVersion < 6 {
            request.topicNames.forEach(addName)
        }
        for topic in request.topics {
            switch (topic.name, topic.topicId.isZero) {
            case (nil, true): answer(nil, .zero, .invalidRequest, "Neither topic name nor id were specified.")
            case (nil, false): addID(topic.topicId)
            case (let name?, true): addName(name)
            case (let name?, false): answer(name, topic.topicId, .invalidRequest, "You may not specify both topic name and topic id.")
            }
        }
        for name in duplicateNames { answer(name, .zero, .invalidRequest, KafkaMessage.duplicateTopicName) }
        for id in duplicateIDs { answer(nil, id, .invalidRequest, "Duplicate topic id.") }

        // Resolve everything to (name, id) pairs against one image.
        let image = core.topics.image
        var doomed: [(name: String, id: KafkaUUID)] = []
        for id in ids {
            guard let topic = image.topic(id: id) else {
                answer(nil, id, .unknownTopicId, KafkaMessage.unknownTopicId)
                continue
            }
            doomed.append((topic.name, id))
        }
        for name in names {
            guard let topic = image.topic(named: name) else {
                answer(name, .zero, .unknownTopicOrPartition, KafkaMessage.unknownTopicOrPartition)
                continue
            }
            if let index = doomed.firstIndex(where: { $0.id == topic.id }) {
                doomed.remove(at: index)
                answer(name, topic.id, .invalidRequest, "The provided topic name maps to an ID that was already supplied.")
                continue
            }
            doomed.append((name, topic.id))
        }

        let core = self.core
        let toDelete = doomed
        let outcomes = try await core.blocking.run {
            try toDelete.map { topic -> (String, KafkaUUID, ErrorCode, String?) in
                // The topic may have been deleted (or deleted and re-created) since the lookup.
                guard core.topics.image.topic(named: topic.name)?.id == topic.id else {
                    return (topic.name, topic.id, .unknownTopicId, KafkaMessage.unknownTopicId)
                }
                let result = try core.deleteTopic(named: topic.name)
                return (topic.name, topic.id, result.errorCode, result.errorMessage)
            }
        }
        for (name, id, code, message) in outcomes {
            answer(name, id, code, code == .noError ? nil : message)
        }
        var response = DeleteTopicsResponse()
        response.responses = results
        return response
    }
}
