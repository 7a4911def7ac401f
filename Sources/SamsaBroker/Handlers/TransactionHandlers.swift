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
                producerEpoch: request.v3AndBelowProducerEpoch, topics: request.v3AndBelowTopics, verifyOnly: false, version: version,
                context: context)
            return response
        }
        for transaction in request.transactions {
            var result = AddPartitionsToTxnResponse.AddPartitionsToTxnResult()
            result.transactionalId = transaction.transactionalId
            result.topicResults = await add(
                transactionalId: transaction.transactionalId, producerId: transaction.producerId,
                producerEpoch: transaction.producerEpoch, topics: transaction.topics, verifyOnly: transaction.verifyOnly, version: version,
                context: context)
            response.resultsByTransaction.append(result)
        }
        return response
    }

    private func add(
        transactionalId: String, producerId: Int64, producerEpoch: Int16, topics: [AddPartitionsToTxnRequest.AddPartitionsToTxnTopic],
        verifyOnly: Bool, version: Int16, context: RequestContext
    ) async -> [AddPartitionsToTxnResponse.AddPartitionsToTxnTopicResult] {
        let image = core.topics.image
        let partitions = topics.flatMap { topic in topic.partitions.map { TransactionPartition(topic: topic.name, partition: $0) } }
        let unknown = Set(
            partitions.filter { partition in
                guard let metadata = image.topic(named: partition.topic) else { return true }
                return partition.partition < 0 || partition.partition >= metadata.partitionCount
            })
        let unwritable = Set(topics.map(\.name).filter { !context.allows(.write, .topic, $0) })
        var codes: [TransactionPartition: ErrorCode] = [:]
        if !context.allows(.write, .transactionalId, transactionalId) {
            for partition in partitions { codes[partition] = .transactionalIdAuthorizationFailed }
        } else if !unwritable.isEmpty {
            for partition in partitions {
                codes[partition] = unwritable.contains(partition.topic) ? .topicAuthorizationFailed : .operationNotAttempted
            }
        } else if !unknown.isEmpty {
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
        guard context.allows(.write, .transactionalId, request.transactionalId) else {
            response.errorCode = ErrorCode.transactionalIdAuthorizationFailed.rawValue
            return response
        }
        guard context.allows(.read, .group, request.groupId) else {
            response.errorCode = ErrorCode.groupAuthorizationFailed.rawValue
            return response
        }
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

/// EndTxn (key 26), versions 0-5: commits or aborts the transaction; answered once its markers
/// are durable in every partition. INVALID_TXN_STATE without a transaction, PRODUCER_FENCED
/// (INVALID_PRODUCER_EPOCH before v2) for a stale epoch. From v5 (transactions V2) every ending
/// bumps the epoch and the answer carries the producer id and epoch to use next.
struct EndTxnHandler: RequestHandler {
    typealias Request = EndTxnRequest

    let transactions: TransactionCoordinator

    func handle(_ request: EndTxnRequest, context: RequestContext) async throws -> EndTxnResponse? {
        guard context.allows(.write, .transactionalId, request.transactionalId) else {
            var response = EndTxnResponse()
            response.errorCode = ErrorCode.transactionalIdAuthorizationFailed.rawValue
            response.producerId = -1
            response.producerEpoch = -1
            return response
        }
        var (code, next) = await transactions.endTransaction(
            transactionalId: request.transactionalId, producerId: request.producerId, producerEpoch: request.producerEpoch,
            commit: request.committed, bumpsEpoch: context.apiVersion >= 5)
        if code == .producerFenced && context.apiVersion < 2 { code = .invalidProducerEpoch }
        var response = EndTxnResponse()
        response.errorCode = code.rawValue
        response.producerId = next?.producerId ?? -1
        response.producerEpoch = next?.producerEpoch ?? -1
        return response
    }
}

/// TxnOffsetCommit (key 28), versions 0-5: offsets consumed in a transaction
/// (`sendOffsetsToTransaction`), committed with it. The group's `__consumer_offsets` partition
/// must be in the producer's transaction (AddOffsetsToTxn), else INVALID_TXN_STATE (or the
/// producer's epoch error); v5 (transactions V2) adds it implicitly. From v3 the group's
/// generation, member and instance id are checked as for OffsetCommit (KIP-447). Unknown topics
/// or partitions get UNKNOWN_TOPIC_OR_PARTITION. The offsets are written to `__consumer_offsets`
/// as the producer's transactional records and become visible at the COMMIT marker.
struct TxnOffsetCommitHandler: RequestHandler {
    typealias Request = TxnOffsetCommitRequest

    let core: BrokerCore
    let groups: GroupCoordinator
    let transactions: TransactionCoordinator

    func handle(_ request: TxnOffsetCommitRequest, context: RequestContext) async throws -> TxnOffsetCommitResponse? {
        let version = context.apiVersion
        let image = core.topics.image
        var codes: [TopicPartition: ErrorCode] = [:]
        var entries: [TopicPartition: CommittedOffset] = [:]
        let now = core.clock.nowMilliseconds()
        let refusal: ErrorCode? =
            !context.allows(.write, .transactionalId, request.transactionalId)
            ? .transactionalIdAuthorizationFailed : !context.allows(.read, .group, request.groupId) ? .groupAuthorizationFailed : nil
        for topic in request.topics {
            let metadata = image.topic(named: topic.name)
            let readable = refusal == nil && context.allows(.read, .topic, topic.name)
            for partition in topic.partitions {
                let key = TopicPartition(topic: topic.name, partition: partition.partitionIndex)
                if let refusal {
                    codes[key] = refusal
                    continue
                }
                guard readable else {
                    codes[key] = .topicAuthorizationFailed
                    continue
                }
                guard let metadata, partition.partitionIndex >= 0, partition.partitionIndex < metadata.partitionCount else {
                    codes[key] = .unknownTopicOrPartition
                    continue
                }
                entries[key] = CommittedOffset(
                    offset: partition.committedOffset, leaderEpoch: version >= 2 ? partition.committedLeaderEpoch : -1,
                    metadata: partition.committedMetadata ?? "", commitTimestamp: now, expireTimestamp: nil)
            }
        }
        let groupError = refusal == nil ? await stage(request, entries: entries, version: version) : .noError
        for key in entries.keys { codes[key] = groupError }
        var response = TxnOffsetCommitResponse()
        response.topics = request.topics.map { topic in
            var result = TxnOffsetCommitResponse.TxnOffsetCommitResponseTopic()
            result.name = topic.name
            result.partitions = topic.partitions.map { partition in
                var answer = TxnOffsetCommitResponse.TxnOffsetCommitResponsePartition()
                answer.partitionIndex = partition.partitionIndex
                answer.errorCode = (codes[TopicPartition(topic: topic.name, partition: partition.partitionIndex)] ?? .noError).rawValue
                return answer
            }
            return result
        }
        return response
    }

    private func stage(_ request: TxnOffsetCommitRequest, entries: [TopicPartition: CommittedOffset], version: Int16) async -> ErrorCode {
        if version >= 5 {
            guard await groups.ensureOffsetsTopic() else { return .coordinatorNotAvailable }
        }
        guard let offsetsTopic = core.topics.image.topic(named: OffsetsTopic.name) else { return .invalidTxnState }
        let offsetsPartition = TransactionPartition(
            topic: OffsetsTopic.name, partition: OffsetsTopic.partition(for: request.groupId, partitionCount: offsetsTopic.partitionCount))
        if version >= 5 {
            let added = await transactions.addPartitions(
                transactionalId: request.transactionalId, producerId: request.producerId, producerEpoch: request.producerEpoch,
                partitions: [offsetsPartition])
            guard added == .noError else { return added }
        } else {
            let verdict = await transactions.verify(
                offsetsPartition, transactionalId: request.transactionalId, producerId: request.producerId,
                producerEpoch: request.producerEpoch)
            guard verdict == .noError else { return verdict == .invalidProducerIdMapping ? .invalidTxnState : verdict }
        }
        return await groups.stageTransactionalOffsets(
            producerId: request.producerId, producerEpoch: request.producerEpoch, groupId: request.groupId,
            memberId: version >= 3 ? request.memberId : "",
            groupInstanceId: version >= 3 ? request.groupInstanceId : nil, generationId: version >= 3 ? request.generationId : -1,
            entries: entries)
    }
}
