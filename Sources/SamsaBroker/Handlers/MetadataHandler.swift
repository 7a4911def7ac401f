import SamsaBinary
import SamsaProtocol

/// Metadata (key 3), versions 0-13.
///
/// This broker is the only node and leads every partition (leader epoch 0, one replica).
/// Topics are looked up by name, or by id from v10 when the name is null. An unknown topic is
/// created when both `auto.create.topics.enable` and the request's AllowAutoTopicCreation
/// (v4+) allow it; unlike Kafka, which answers LEADER_NOT_AVAILABLE until a leader is elected,
/// the new topic is returned ready at once, since creation here is synchronous.
struct MetadataHandler: RequestHandler {
    typealias Request = MetadataRequest

    let core: BrokerCore

    /// Every topic operation allowed (READ..ALTER_CONFIGS bits), for clients that ask.
    static let allTopicOperations: Int32 = (1 << 3) | (1 << 4) | (1 << 5) | (1 << 6) | (1 << 7) | (1 << 8) | (1 << 10) | (1 << 11)
    static let allClusterOperations: Int32 = (1 << 4) | (1 << 5) | (1 << 7) | (1 << 8) | (1 << 9) | (1 << 10) | (1 << 11) | (1 << 12)

    func handle(_ request: MetadataRequest, context: RequestContext) async throws -> MetadataResponse? {
        let version = context.apiVersion
        let nodeID = core.configuration.nodeID
        let endpoint = core.advertisedEndpoint(listener: context.connection.session.listenerName)
        var response = MetadataResponse()
        var broker = MetadataResponse.MetadataResponseBroker()
        broker.nodeId = nodeID
        broker.host = endpoint.host
        broker.port = endpoint.port
        response.brokers = [broker]
        response.clusterId = core.topics.image.clusterID
        response.controllerId = nodeID
        if request.includeClusterAuthorizedOperations {
            response.clusterAuthorizedOperations = Self.allClusterOperations
        }

        // v0: an empty list means all topics; v1+: null means all, empty means none.
        let requested: [MetadataRequest.MetadataRequestTopic]?
        if version == 0 && (request.topics?.isEmpty ?? true) {
            requested = nil
        } else {
            requested = request.topics
        }

        // Topics the principal may not describe are left out of "all", and refused by name.
        guard let requested else {
            response.topics = core.topics.image.topics.filter { context.allows(.describe, .topic, $0.name) }.map {
                describe($0, request: request)
            }
            return response
        }
        let allowAutoCreate = core.configuration.autoCreateTopics && (version < 4 || request.allowAutoTopicCreation)
        for wanted in requested {
            response.topics.append(
                try await lookUp(wanted, allowAutoCreate: allowAutoCreate, request: request, version: version, context: context))
        }
        return response
    }

    private func lookUp(
        _ wanted: MetadataRequest.MetadataRequestTopic, allowAutoCreate: Bool, request: MetadataRequest, version: Int16,
        context: RequestContext
    ) async throws -> MetadataResponse.MetadataResponseTopic {
        let image = core.topics.image
        if let name = wanted.name, !(version >= 10 && name.isEmpty && !wanted.topicId.isZero) {
            guard context.allows(.describe, .topic, name) else {
                var refused = MetadataResponse.MetadataResponseTopic()
                refused.name = name
                refused.errorCode = ErrorCode.topicAuthorizationFailed.rawValue
                return refused
            }
            if let topic = image.topic(named: name) {
                return describe(topic, request: request)
            }
            if allowAutoCreate, BrokerCore.topicNameProblem(name) == nil,
                context.allows(.create, .cluster) || context.allows(.create, .topic, name)
            {
                let core = self.core
                let result = try await core.blocking.run { try core.createTopic(name: name, partitionCount: -1) }
                if let topic = result.topic ?? core.topics.image.topic(named: name) {
                    return describe(topic, request: request)
                }
            }
            var missing = MetadataResponse.MetadataResponseTopic()
            missing.name = name
            missing.errorCode =
                BrokerCore.topicNameProblem(name) == nil
                ? ErrorCode.unknownTopicOrPartition.rawValue : ErrorCode.invalidTopicException.rawValue
            return missing
        }
        if let topic = image.topic(id: wanted.topicId) {
            guard context.allows(.describe, .topic, topic.name) else {
                var refused = MetadataResponse.MetadataResponseTopic()
                refused.topicId = wanted.topicId
                refused.name = nil
                refused.errorCode = ErrorCode.topicAuthorizationFailed.rawValue
                return refused
            }
            return describe(topic, request: request)
        }
        var missing = MetadataResponse.MetadataResponseTopic()
        missing.topicId = wanted.topicId
        missing.name = nil
        missing.errorCode = ErrorCode.unknownTopicId.rawValue
        return missing
    }

    private func describe(_ topic: TopicMetadata, request: MetadataRequest) -> MetadataResponse.MetadataResponseTopic {
        let nodeID = core.configuration.nodeID
        var entry = MetadataResponse.MetadataResponseTopic()
        entry.name = topic.name
        entry.topicId = topic.id
        entry.isInternal = topic.isInternal
        entry.partitions.reserveCapacity(Int(topic.partitionCount))
        for index in 0..<topic.partitionCount {
            var partition = MetadataResponse.MetadataResponsePartition()
            partition.partitionIndex = index
            partition.leaderId = nodeID
            partition.leaderEpoch = 0
            partition.replicaNodes = [nodeID]
            partition.isrNodes = [nodeID]
            entry.partitions.append(partition)
        }
        if request.includeTopicAuthorizedOperations {
            entry.topicAuthorizedOperations = Self.allTopicOperations
        }
        return entry
    }
}
