import SamsaCoordination
import SamsaProtocol
import SamsaStorage

/// WriteTxnMarkers (key 27), versions 1-2 (sent by a transaction coordinator to partition
/// leaders; this broker is both, so its own coordinator writes markers directly): writes each
/// marker to its partitions, durably, with per-partition errors (UNKNOWN_TOPIC_OR_PARTITION,
/// KAFKA_STORAGE_ERROR). A marker written to `__consumer_offsets` also ends the producer's
/// pending transactional offsets there, as the coordinator's own markers do.
struct WriteTxnMarkersHandler: RequestHandler {
    typealias Request = WriteTxnMarkersRequest

    let core: BrokerCore
    let groups: GroupCoordinator

    func handle(_ request: WriteTxnMarkersRequest, context: RequestContext) async throws -> WriteTxnMarkersResponse? {
        let writer = TransactionMarkerWriter(core: core)
        var response = WriteTxnMarkersResponse()
        // Only brokers write markers: CLUSTER_ACTION on the cluster.
        let allowed = context.allows(.clusterAction, .cluster)
        for marker in request.markers {
            let partitions = marker.topics.flatMap { topic in
                topic.partitionIndexes.map { TopicPartition(topic: topic.name, partition: $0) }
            }
            var errors: [TopicPartition: ErrorCode] = [:]
            if allowed {
                errors = await writer.writeMarkers(
                    producerId: marker.producerId, producerEpoch: marker.producerEpoch, commit: marker.transactionResult,
                    coordinatorEpoch: marker.coordinatorEpoch, partitions: partitions)
                if partitions.contains(where: { $0.topic == InternalTopics.consumerOffsets && errors[$0] == nil }) {
                    await groups.endTransaction(producerId: marker.producerId, commit: marker.transactionResult)
                }
            } else {
                for partition in partitions { errors[partition] = .clusterAuthorizationFailed }
            }
            var result = WriteTxnMarkersResponse.WritableTxnMarkerResult()
            result.producerId = marker.producerId
            result.topics = marker.topics.map { topic in
                var topicResult = WriteTxnMarkersResponse.WritableTxnMarkerTopicResult()
                topicResult.name = topic.name
                topicResult.partitions = topic.partitionIndexes.map { index in
                    var answer = WriteTxnMarkersResponse.WritableTxnMarkerPartitionResult()
                    answer.partitionIndex = index
                    answer.errorCode = (errors[TopicPartition(topic: topic.name, partition: index)] ?? .noError).rawValue
                    return answer
                }
                return topicResult
            }
            response.markers.append(result)
        }
        return response
    }
}

/// DescribeTransactions (key 65), version 0: each transactional id's state (Kafka's names),
/// timeout, start time, producer id and epoch, and partitions; TRANSACTIONAL_ID_NOT_FOUND for an
/// id the coordinator does not know.
struct DescribeTransactionsHandler: RequestHandler {
    typealias Request = DescribeTransactionsRequest

    let transactions: TransactionCoordinator

    func handle(_ request: DescribeTransactionsRequest, context: RequestContext) async throws -> DescribeTransactionsResponse? {
        var response = DescribeTransactionsResponse()
        for id in request.transactionalIds {
            var state = DescribeTransactionsResponse.TransactionState()
            state.transactionalId = id
            guard context.allows(.describe, .transactionalId, id) else {
                state.errorCode = ErrorCode.transactionalIdAuthorizationFailed.rawValue
                state.producerId = -1
                state.producerEpoch = -1
                state.transactionStartTimeMs = -1
                response.transactionStates.append(state)
                continue
            }
            guard let metadata = await transactions.describe(id) else {
                state.errorCode = ErrorCode.transactionalIdNotFound.rawValue
                state.producerId = -1
                state.producerEpoch = -1
                state.transactionStartTimeMs = -1
                response.transactionStates.append(state)
                continue
            }
            state.transactionState = metadata.state.description
            state.transactionTimeoutMs = metadata.transactionTimeoutMs
            state.transactionStartTimeMs = metadata.transactionStartTimestamp
            state.producerId = metadata.producerId
            state.producerEpoch = metadata.producerEpoch
            state.topics = Dictionary(grouping: metadata.partitions, by: \.topic).sorted { $0.key < $1.key }.map { topic, partitions in
                var data = DescribeTransactionsResponse.TopicData()
                data.topic = topic
                data.partitions = partitions.map(\.partition).sorted()
                return data
            }
            response.transactionStates.append(state)
        }
        return response
    }
}

/// ListTransactions (key 66), versions 0-2: the transactional ids, filtered by state names,
/// producer ids, (v1) how long the transaction has run and (v2) a regular expression the whole
/// id must match (INVALID_REGULAR_EXPRESSION when it does not compile). Unknown state names
/// are listed back in UnknownStateFilters, as Kafka does.
struct ListTransactionsHandler: RequestHandler {
    typealias Request = ListTransactionsRequest

    let transactions: TransactionCoordinator

    func handle(_ request: ListTransactionsRequest, context: RequestContext) async throws -> ListTransactionsResponse? {
        var response = ListTransactionsResponse()
        let states = request.stateFilters.compactMap { TransactionState(name: $0) }
        response.unknownStateFilters = request.stateFilters.filter { TransactionState(name: $0) == nil }
        let duration = context.apiVersion >= 1 && request.durationFilter >= 0 ? request.durationFilter : nil
        var pattern: Regex<AnyRegexOutput>?
        if context.apiVersion >= 2, let text = request.transactionalIdPattern, !text.isEmpty {
            do {
                pattern = try Regex(text)
            } catch {
                response.errorCode = ErrorCode.invalidRegularExpression.rawValue
                return response
            }
        }
        var listed = await transactions.list(states: Set(states), producerIds: Set(request.producerIdFilters), minimumDurationMs: duration)
        if let pattern {
            listed = listed.filter { $0.transactionalId.wholeMatch(of: pattern) != nil }
        }
        // Only the ids the principal may describe are listed.
        listed = listed.filter { context.allows(.describe, .transactionalId, $0.transactionalId) }
        // Filters that name only unknown states match nothing.
        guard states.isEmpty == request.stateFilters.isEmpty else { return response }
        response.transactionStates = listed.map { metadata in
            var state = ListTransactionsResponse.TransactionState()
            state.transactionalId = metadata.transactionalId
            state.producerId = metadata.producerId
            state.transactionState = metadata.state.description
            return state
        }
        return response
    }
}
