import SamsaProtocol
import SamsaStorage

/// DescribeProducers (key 61), version 0: the active idempotent producers of each partition
/// (Kafka's `kafka-transactions.sh describe-producers`): producer id, epoch, the sequence of
/// the last record written, the last batch's timestamp, and the first offset of its open
/// transaction in the partition (-1 when none). CoordinatorEpoch is -1: this broker's single
/// transaction coordinator has no epochs. An unknown topic or partition is
/// UNKNOWN_TOPIC_OR_PARTITION.
struct DescribeProducersHandler: RequestHandler {
    typealias Request = DescribeProducersRequest

    let core: BrokerCore

    func handle(_ request: DescribeProducersRequest, context: RequestContext) async throws -> DescribeProducersResponse? {
        let core = self.core
        let topics = request.topics
        var response = DescribeProducersResponse()
        let readable = Set(topics.map(\.name).filter { context.allows(.read, .topic, $0) })
        response.topics = try await core.blocking.run {
            try topics.map { topic in
                var result = DescribeProducersResponse.TopicResponse()
                result.name = topic.name
                guard readable.contains(topic.name) else {
                    result.partitions = topic.partitionIndexes.map { index in
                        var refused = DescribeProducersResponse.PartitionResponse()
                        refused.partitionIndex = index
                        refused.errorCode = ErrorCode.topicAuthorizationFailed.rawValue
                        return refused
                    }
                    return result
                }
                let metadata = core.topics.image.topic(named: topic.name)
                result.partitions = try topic.partitionIndexes.map { try Self.describe(topic.name, $0, metadata: metadata, core: core) }
                return result
            }
        }
        return response
    }

    private static func describe(
        _ topic: String, _ partition: Int32, metadata: TopicMetadata?, core: BrokerCore
    ) throws -> DescribeProducersResponse.PartitionResponse {
        var answer = DescribeProducersResponse.PartitionResponse()
        answer.partitionIndex = partition
        switch core.servingLog(topic: metadata, partition: partition) {
        case .failure(let error):
            answer.errorCode = error.code.rawValue
            answer.errorMessage = error.message
        case .success(let log):
            let key = TopicPartition(topic: topic, partition: partition)
            let openTransactions = log.openTransactionStartOffsets
            answer.activeProducers = try core.producerStates.withTable(for: key, log: log) { table in
                table.producers.keys.sorted().compactMap { id -> DescribeProducersResponse.ProducerState? in
                    guard let entry = table.producers[id] else { return nil }
                    var state = DescribeProducersResponse.ProducerState()
                    state.producerId = id
                    state.producerEpoch = Int32(entry.epoch)
                    state.lastSequence = entry.lastSequence
                    state.lastTimestamp = entry.batches.last?.timestamp ?? -1
                    state.coordinatorEpoch = -1
                    state.currentTxnStartOffset = openTransactions[id] ?? -1
                    return state
                }
            }
        }
        return answer
    }
}
