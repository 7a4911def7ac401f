import SamsaCoordination
import SamsaProtocol
import SamsaStorage

/// AddPartitionsToTxn (key 24), versions 0-5. v0-3 add a client's partitions to its ongoing
/// transaction; v4+ (brokers) carry several transactions, each either added or, with
/// VerifyOnly, checked. Every partition must exist: otherwise those get
/// UNKNOWN_TOPIC_OR_PARTITION and the others OPERATION_NOT_ATTEMPTED, and nothing is added, as in
/// Kafka. Coordinator errors (INVALID_PRODUCER_ID_MAPPING, PRODUCER_FENCED — INVALID_PRODUCER_EPOCH
/// before v2 —, CONCURRENT_TRANSACTIONS) go to every partition.
struct AddPartitionsToTxnHandler: RequestHandler {
    typealias Request = AddPartitionsToTxnRequest

    let core: BrokerCore
    let transactions: TransactionCoordinator

    func handle(_ request: AddPartitionsToTxnRequest, context: RequestContext) async throws -> AddPartitionsToTxnResponse? {
        let version = context.apiVersion
        var response = AddPartitionsToTxnResponse()
        if version <= 3 {
            response.resultsByTopicV3AndBelow = await add(
                transactionalId: request.v3AndBelowTransactionalId, producerId: request.v3AndBelowProducerId,
                producerEpoch: request.v3AndBelowProducerEpoch, topics: request.v3AndBelowTopics, verifyOnly: false, version: version)
            return response
        }
        for transaction in request.transactions {
            var result = AddPartitionsToTxnResponse.AddPartitionsToTxnResult()
            result.transactionalId = transaction.transactionalId
            result.topicResults = await add(
                transactionalId: transaction.transactionalId, producerId: transaction.producerId,
                producerEpoch: transaction.producerEpoch, topics: transaction.topics, verifyOnly: transaction.verifyOnly, version: version)
            response.resultsByTransaction.append(result)
        }
        return response
    }

    private func add(
        transactionalId: String, producerId: Int64, producerEpoch: Int16, topics: [AddPartitionsToTxnRequest.AddPartitionsToTxnTopic],
        verifyOnly: Bool, version: Int16
    ) async -> [AddPartitionsToTxnResponse.AddPartitionsToTxnTopicResult] {
        let image = core.topics.image
        let partitions = topics.flatMap { topic in topic.partitions.map { TransactionPartition(topic: topic.name, partition: $0) } }
        let unknown = Set(
            partitions.filter { partition in
                guard let metadata = image.topic(named: partition.topic) else { return true }
                return partition.partition < 0 || partition.partition >= metadata.partitionCount
            })
        var codes: [TransactionPartition: ErrorCode] = [:]
        if !unknown.isEmpty {
            for partition in partitions {
                codes[partition] = unknown.contains(partition) ? .unknownTopicOrPartition : .operationNotAttempted
            }
        } else if verifyOnly {
            for partition in partitions {
                codes[partition] = await transactions.verify(
                    partition, transactionalId: transactionalId, producerId: producerId, producerEpoch: producerEpoch)
            }
        } else {
            var code = await transactions.addPartitions(
                transactionalId: transactionalId, producerId: producerId, producerEpoch: producerEpoch, partitions: partitions)
            if code == .producerFenced && version < 2 { code = .invalidProducerEpoch }
            for partition in partitions { codes[partition] = code }
        }
        return topics.map { topic in
            var result = AddPartitionsToTxnResponse.AddPartitionsToTxnTopicResult()
            result.name = topic.name
            result.resultsByPartition = topic.partitions.map { index in
                var answer = AddPartitionsToTxnResponse.AddPartitionsToTxnPartitionResult()
                answer.partitionIndex = index
                answer.partitionErrorCode = (codes[TransactionPartition(topic: topic.name, partition: index)] ?? .noError).rawValue
                return answer
            }
            return result
        }
    }
}

/// AddOffsetsToTxn (key 25), versions 0-4: adds the group's `__consumer_offsets` partition to
/// the transaction, so its offsets commit or abort with it.
struct AddOffsetsToTxnHandler: RequestHandler {
    typealias Request = AddOffsetsToTxnRequest

    let core: BrokerCore
    let groups: GroupCoordinator
    let transactions: TransactionCoordinator

    func handle(_ request: AddOffsetsToTxnRequest, context: RequestContext) async throws -> AddOffsetsToTxnResponse? {
        var response = AddOffsetsToTxnResponse()
        guard await groups.ensureOffsetsTopic(), let topic = core.topics.image.topic(named: OffsetsTopic.name) else {
            response.errorCode = ErrorCode.coordinatorNotAvailable.rawValue
            return response
        }
        let partition = TransactionPartition(
            topic: OffsetsTopic.name, partition: OffsetsTopic.partition(for: request.groupId, partitionCount: topic.partitionCount))
        var code = await transactions.addPartitions(
            transactionalId: request.transactionalId, producerId: request.producerId, producerEpoch: request.producerEpoch,
            partitions: [partition])
        if code == .producerFenced && context.apiVersion < 2 { code = .invalidProducerEpoch }
        response.errorCode = code.rawValue
        return response
    }
}

/// EndTxn (key 26), versions 0-4: commits or aborts the transaction; answered once its markers
/// are durable in every partition. INVALID_TXN_STATE without a transaction, PRODUCER_FENCED
/// (INVALID_PRODUCER_EPOCH before v2) for a stale epoch.
struct EndTxnHandler: RequestHandler {
    typealias Request = EndTxnRequest

    let transactions: TransactionCoordinator

    func handle(_ request: EndTxnRequest, context: RequestContext) async throws -> EndTxnResponse? {
        var code = await transactions.endTransaction(
            transactionalId: request.transactionalId, producerId: request.producerId, producerEpoch: request.producerEpoch,
            commit: request.committed)
        if code == .producerFenced && context.apiVersion < 2 { code = .invalidProducerEpoch }
        var response = EndTxnResponse()
        response.errorCode = code.rawValue
        response.producerId = -1
        response.producerEpoch = -1
        return response
    }
}
