import SamsaProtocol

/// A transaction as its coordinator describes it.
public struct TransactionDescription: Hashable, Sendable {
    public var transactionalId: String
    /// Kafka's state name: Empty, Ongoing, PrepareCommit, CompleteCommit, ...
    public var state: String
    public var producerId: Int64
    public var producerEpoch: Int16
    public var timeoutMs: Int32
    /// When the running transaction started (ms since the epoch), or -1.
    public var startTimeMs: Int64
    public var partitions: [TopicPartition]
}

/// A producer writing to a partition, as its leader describes it.
public struct ProducerDescription: Hashable, Sendable {
    public var producerId: Int64
    public var producerEpoch: Int32
    public var lastSequence: Int32
    public var lastTimestamp: Int64
    /// Where its open transaction in the partition began, or -1.
    public var currentTransactionStartOffset: Int64
}

extension KafkaAdmin {
    /// The transactional ids of every broker's coordinator: id → (state, producer id),
    /// optionally filtered by state names, producer ids, and a regular expression over the id.
    public func listTransactions(
        states: [String] = [], producerIds: [Int64] = [], idPattern: String? = nil
    ) async throws -> [String: (state: String, producerId: Int64)] {
        let metadata = try await cluster.refreshMetadata(topics: [])
        var request = ListTransactionsRequest()
        request.stateFilters = states
        request.producerIdFilters = producerIds
        request.transactionalIdPattern = idPattern
        var result: [String: (state: String, producerId: Int64)] = [:]
        for nodeId in metadata.brokers.keys.sorted() {
            let response = try await askBroker(nodeId) { connection in
                if idPattern != nil, (connection.versions.served(.listTransactions)?.upperBound ?? 0) < 2 {
                    // The filter exists from v2: an older broker would answer every id.
                    throw KafkaError(.unsupportedVersion, message: "broker \(nodeId) cannot filter transactional ids by pattern")
                }
                return try await connection.send(request)
            } errorCode: {
                $0.errorCode
            }
            for entry in response.transactionStates {
                result[entry.transactionalId] = (entry.transactionState, entry.producerId)
            }
        }
        return result
    }

    /// A transactional id's state, from its coordinator; TRANSACTIONAL_ID_NOT_FOUND if unknown.
    public func describeTransaction(_ transactionalId: String) async throws -> TransactionDescription {
        var request = DescribeTransactionsRequest()
        request.transactionalIds = [transactionalId]
        let response = try await GroupOffsets.withCoordinator(
            transactionalId, type: 1, cluster: cluster, configuration: configuration, lostConnections: true
        ) { connection in
            let response = try await connection.send(request)
            if let code = response.transactionStates.first.map({ ErrorCode(rawValue: $0.errorCode) }), GroupOffsets.isCoordinatorError(code)
            {
                throw KafkaError(code, message: transactionalId)
            }
            return response
        }
        guard let entry = response.transactionStates.first else { throw KafkaError(.transactionalIdNotFound, message: transactionalId) }
        guard entry.errorCode == 0 else { throw KafkaError(ErrorCode(rawValue: entry.errorCode), message: transactionalId) }
        return TransactionDescription(
            transactionalId: entry.transactionalId, state: entry.transactionState, producerId: entry.producerId,
            producerEpoch: entry.producerEpoch, timeoutMs: entry.transactionTimeoutMs, startTimeMs: entry.transactionStartTimeMs,
            partitions: entry.topics.flatMap { topic in topic.partitions.map { TopicPartition(topic.topic, $0) } }.sorted())
    }

    /// The active producers of a partition, from its leader.
    public func describeProducers(_ partition: TopicPartition) async throws -> [ProducerDescription] {
        try await cluster.retryingWithFreshMetadata { try await describeProducersOnce(partition) }
    }

    private func describeProducersOnce(_ partition: TopicPartition) async throws -> [ProducerDescription] {
        let metadata = try await cluster.metadata(for: [partition.topic])
        guard let leader = metadata.leader(of: partition.topic, partition: partition.partition) else {
            throw KafkaError(.unknownTopicOrPartition, topic: partition.topic, partition: partition.partition)
        }
        var request = DescribeProducersRequest()
        var topic = DescribeProducersRequest.TopicRequest()
        topic.name = partition.topic
        topic.partitionIndexes = [partition.partition]
        request.topics = [topic]
        let response = try await cluster.connection(to: leader).send(request)
        guard let answer = response.topics.first?.partitions.first else { return [] }
        guard answer.errorCode == 0 else {
            throw KafkaError(
                ErrorCode(rawValue: answer.errorCode), message: answer.errorMessage, topic: partition.topic, partition: partition.partition)
        }
        return answer.activeProducers.map {
            ProducerDescription(
                producerId: $0.producerId, producerEpoch: $0.producerEpoch, lastSequence: $0.lastSequence, lastTimestamp: $0.lastTimestamp,
                currentTransactionStartOffset: $0.currentTxnStartOffset)
        }
    }
}
