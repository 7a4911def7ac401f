import NIOConcurrencyHelpers
import NIOCore
import SamsaProtocol

/// Where a transactional producer is in its transaction cycle.
public enum TransactionState: Hashable, Sendable {
    /// `initTransactions` has not run yet.
    case uninitialized
    /// Between transactions.
    case ready
    /// Between `beginTransaction` and `commitTransaction`/`abortTransaction`.
    case inTransaction
    /// Fenced by a newer producer with the same transactional id, or failed for good: the
    /// producer can only be closed.
    case fatal
}

/// Why a transactional call was refused.
public enum TransactionError: Error, Sendable, CustomStringConvertible {
    /// The call does not fit the producer's state (e.g. `send` before `beginTransaction`).
    case notInTransaction(TransactionState)
    /// The producer is not configured with a `transactional.id`.
    case notTransactional
    /// A record or step of the running transaction failed; only `abortTransaction` can follow.
    case mustAbort(underlying: String)
    /// A newer producer with the same transactional id took over (or the epoch was bumped
    /// by a timeout abort); this producer can only be closed.
    case fenced(ErrorCode)

    public var description: String {
        switch self {
        case .notInTransaction(let state): "not allowed in transaction state \(state)"
        case .notTransactional: "the producer has no transactional.id"
        case .mustAbort(let underlying): "the transaction failed and must be aborted: \(underlying)"
        case .fenced(let code): "fenced by a newer producer with the same transactional.id (\(code.name))"
        }
    }
}

/// The identity of a consumer in its group, which `sendOffsetsToTransaction` sends along so
/// the coordinator can refuse offsets from a member that was replaced (KIP-447).
public struct ConsumerGroupMetadata: Hashable, Sendable {
    public var groupId: String
    public var generationId: Int32
    public var memberId: String
    public var groupInstanceId: String?

    public init(groupId: String, generationId: Int32 = -1, memberId: String = "", groupInstanceId: String? = nil) {
        self.groupId = groupId
        self.generationId = generationId
        self.memberId = memberId
        self.groupInstanceId = groupInstanceId
    }
}

extension KafkaProducer {
    private var transactionalId: String {
        get throws {
            guard let id = configuration.transactionalId else { throw TransactionError.notTransactional }
            return id
        }
    }

    /// Stands in `transactionPartitions` for the group offsets sent to the transaction.
    static var offsetsMarker: TopicPartition { TopicPartition("", -1) }

    /// Registers the transactional id with its coordinator (InitProducerId): takes the
    /// producer id and a new epoch, which fences older producers with the same id and aborts
    /// a transaction they left open. Call once before the first transaction.
    public func initTransactions() async throws {
        let id = try transactionalId
        try state.withLockedValue { state in
            guard state.transaction == .uninitialized else { throw TransactionError.notInTransaction(state.transaction) }
        }
        var request = InitProducerIdRequest()
        request.transactionalId = id
        request.transactionTimeoutMs = configuration.transactionTimeoutMs
        let response = try await toCoordinator { connection in try await connection.send(request) }
        state.withLockedValue { state in
            state.producerId = response.producerId
            state.producerEpoch = response.producerEpoch
            state.accumulator.resetSequences()
            state.transaction = .ready
        }
    }

    /// Starts a transaction: records sent from now on are committed or aborted together.
    public func beginTransaction() throws {
        _ = try transactionalId
        try state.withLockedValue { state in
            guard state.transaction == .ready else { throw TransactionError.notInTransaction(state.transaction) }
            state.transaction = .inTransaction
            state.transactionPartitions = []
            state.transactionError = nil
        }
    }

    /// Adds a consumer group's offsets to the transaction (`transaction.sendOffsets` in
    /// KafkaJS): they are committed to the group if, and only if, the transaction commits.
    public func sendOffsetsToTransaction(_ offsets: [TopicPartition: Int64], groupMetadata: ConsumerGroupMetadata) async throws {
        let id = try transactionalId
        let (producerId, epoch) = try state.withLockedValue { state in
            guard state.transaction == .inTransaction else { throw TransactionError.notInTransaction(state.transaction) }
            return (state.producerId, state.producerEpoch)
        }
        var add = AddOffsetsToTxnRequest()
        add.transactionalId = id
        add.producerId = producerId
        add.producerEpoch = epoch
        add.groupId = groupMetadata.groupId
        _ = try await toCoordinator { connection in try await connection.send(add) }
        // The coordinator now has something to end, even if no record is sent.
        state.withLockedValue { _ = $0.transactionPartitions.insert(Self.offsetsMarker) }
        var request = TxnOffsetCommitRequest()
        request.transactionalId = id
        request.groupId = groupMetadata.groupId
        request.producerId = producerId
        request.producerEpoch = epoch
        request.generationId = groupMetadata.generationId
        request.memberId = groupMetadata.memberId
        request.groupInstanceId = groupMetadata.groupInstanceId
        request.topics = offsets.keys.byTopic().map { topic, indexes in
            var entry = TxnOffsetCommitRequest.TxnOffsetCommitRequestTopic()
            entry.name = topic
            entry.partitions = indexes.map { index in
                var item = TxnOffsetCommitRequest.TxnOffsetCommitRequestPartition()
                item.partitionIndex = index
                item.committedOffset = offsets[TopicPartition(topic, index)]!
                return item
            }
            return entry
        }
        let response = try await GroupOffsets.withCoordinator(
            groupMetadata.groupId, cluster: cluster, configuration: configuration.client, attempts: 10,
            alsoRetrying: [.concurrentTransactions], lostConnections: true
        ) { connection in
            // v5 belongs to transactions V2, which this producer does not use.
            let response = try await connection.send(request, maxVersion: 4)
            let codes = response.topics.flatMap { topic in topic.partitions.map { ErrorCode(rawValue: $0.errorCode) } }
            if let retriable = codes.first(where: { GroupOffsets.isCoordinatorError($0) || $0 == .concurrentTransactions }) {
                throw KafkaError(retriable, message: "group \(groupMetadata.groupId)")
            }
            return response
        }
        let codes = response.topics.flatMap { topic in topic.partitions.map { ErrorCode(rawValue: $0.errorCode) } }
        if let failure = codes.first(where: { $0 != .noError }) { throw try fail(failure, step: "TxnOffsetCommit") }
    }

    /// Commits the transaction: waits until every record of it is acknowledged, then ends it
    /// (EndTxn). Throws ``TransactionError/mustAbort(underlying:)`` when a record failed.
    public func commitTransaction() async throws {
        try await endTransaction(commit: true)
    }

    /// Aborts the transaction: records not yet sent are dropped (their `send` fails), the
    /// rest become invisible to read_committed consumers.
    public func abortTransaction() async throws {
        let dropped = state.withLockedValue { $0.accumulator.removeAll() }
        for batch in dropped {
            report(batch, .failure(TransactionError.mustAbort(underlying: "the transaction was aborted")))
            for completion in batch.completions.map(\.completion) {
                if case .waiting(let continuation) = completion {
                    continuation.resume(throwing: TransactionError.mustAbort(underlying: "the transaction was aborted"))
                } else if case .callback(let callback) = completion {
                    callback(.failure(TransactionError.mustAbort(underlying: "the transaction was aborted")))
                }
            }
        }
        try await endTransaction(commit: false)
    }

    private func endTransaction(commit: Bool) async throws {
        let id = try transactionalId
        try state.withLockedValue { state in
            guard state.transaction == .inTransaction else { throw TransactionError.notInTransaction(state.transaction) }
        }
        await flush()
        let (producerId, epoch, failure, added) = state.withLockedValue { state in
            (state.producerId, state.producerEpoch, state.transactionError, !state.transactionPartitions.isEmpty)
        }
        if commit, let failure { throw TransactionError.mustAbort(underlying: "\(failure)") }
        guard added else {
            // Nothing reached the coordinator: the transaction ends here, as in Kafka's clients.
            state.withLockedValue { state in
                state.transaction = .ready
                state.transactionError = nil
            }
            return
        }
        var request = EndTxnRequest()
        request.transactionalId = id
        request.producerId = producerId
        request.producerEpoch = epoch
        request.committed = commit
        do {
            // v5 bumps the epoch (transactions V2), which this producer does not use.
            _ = try await toCoordinator { connection in try await connection.send(request, maxVersion: 4) }
        }
        state.withLockedValue { state in
            state.transaction = .ready
            state.transactionPartitions = []
            state.transactionError = nil
        }
    }

    /// Adds the partitions of `batches` not yet in the transaction (AddPartitionsToTxn), and
    /// returns the batches that may now be sent; the others are retried or failed.
    func addToTransaction(_ batches: [RecordAccumulator.Batch]) async -> [RecordAccumulator.Batch] {
        guard let id = configuration.transactionalId else { return batches }
        let (missing, producerId, epoch) = state.withLockedValue { state in
            (Set(batches.map(\.key)).subtracting(state.transactionPartitions), state.producerId, state.producerEpoch)
        }
        guard !missing.isEmpty else { return batches }
        var request = AddPartitionsToTxnRequest()
        request.v3AndBelowTransactionalId = id
        request.v3AndBelowProducerId = producerId
        request.v3AndBelowProducerEpoch = epoch
        request.v3AndBelowTopics = missing.byTopic().map { topic, partitions in
            var entry = AddPartitionsToTxnRequest.AddPartitionsToTxnTopic()
            entry.name = topic
            entry.partitions = partitions
            return entry
        }
        do {
            let response = try await toCoordinator { connection -> AddPartitionsToTxnResponse in
                // v4+ is the brokers' batched form.
                let response = try await connection.send(request, maxVersion: 3)
                let codes = response.resultsByTopicV3AndBelow.flatMap {
                    $0.resultsByPartition.map { ErrorCode(rawValue: $0.partitionErrorCode) }
                }
                if let code = codes.first(where: {
                    $0 == .concurrentTransactions || $0 == .notCoordinator || $0 == .coordinatorNotAvailable
                }) {
                    throw KafkaError(code)
                }
                return response
            }
            var failed: [TopicPartition: ErrorCode] = [:]
            for topic in response.resultsByTopicV3AndBelow {
                for result in topic.resultsByPartition where result.partitionErrorCode != 0 {
                    failed[TopicPartition(topic.name, result.partitionIndex)] = ErrorCode(
                        rawValue: result.partitionErrorCode)
                }
            }
            state.withLockedValue { state in state.transactionPartitions.formUnion(missing.subtracting(failed.keys)) }
            var sendable: [RecordAccumulator.Batch] = []
            for batch in batches {
                if let code = failed[batch.key] {
                    let error = (try? fail(code, step: "AddPartitionsToTxn")) ?? KafkaError(code)
                    finish(batch, with: .failure(error))
                } else {
                    sendable.append(batch)
                }
            }
            return sendable
        } catch {
            for batch in batches where missing.contains(batch.key) {
                if case TransactionError.fenced = error {
                    finish(batch, with: .failure(error))
                } else {
                    retry(batch, error: error)
                }
            }
            return batches.filter { !missing.contains($0.key) }
        }
    }

    /// Runs `body` against the transaction coordinator, retrying coordinator moves and
    /// CONCURRENT_TRANSACTIONS with backoff; a response's error code is checked by `check`.
    private func toCoordinator<Response: KafkaResponseMessage>(
        _ body: (BrokerConnection) async throws -> Response
    ) async throws -> Response {
        let id = try transactionalId
        var attempt = 0
        while true {
            do {
                let response = try await body(try await cluster.coordinator(for: id, type: 1))
                let code = Self.errorCode(of: response)
                guard code == .noError else { throw KafkaError(code) }
                return response
            } catch let error as KafkaError {
                switch error.code {
                case .notCoordinator, .coordinatorNotAvailable, .coordinatorLoadInProgress, .concurrentTransactions:
                    guard attempt < 50 else { throw error }
                    await cluster.invalidateCoordinator(for: id, type: 1)
                    try await pause(&attempt)
                default:
                    throw try fail(error.code, step: "transaction")
                }
            } catch let error as SamsaClientError where error.isRetriable && attempt < 50 {
                await cluster.invalidateCoordinator(for: id, type: 1)
                try await pause(&attempt)
            }
        }
    }

    private func pause(_ attempt: inout Int) async throws {
        let backoff = min(configuration.client.backoffMs(attempt: attempt, random: Double.random(in: 0...1)), 100)
        attempt += 1
        try await Task.sleep(for: .milliseconds(backoff))
    }

    /// The error to throw for `code`: fencing errors make the producer unusable.
    private func fail(_ code: ErrorCode, step: String) throws -> any Error {
        if [.producerFenced, .invalidProducerEpoch, .transactionalIdAuthorizationFailed, .invalidProducerIdMapping].contains(code) {
            state.withLockedValue { $0.transaction = .fatal }
            return TransactionError.fenced(code)
        }
        return KafkaError(code, message: step)
    }

    private static func errorCode<Response: KafkaResponseMessage>(of response: Response) -> ErrorCode {
        switch response {
        case let response as InitProducerIdResponse: ErrorCode(rawValue: response.errorCode)
        case let response as AddOffsetsToTxnResponse: ErrorCode(rawValue: response.errorCode)
        case let response as EndTxnResponse: ErrorCode(rawValue: response.errorCode)
        case let response as AddPartitionsToTxnResponse: ErrorCode(rawValue: response.errorCode)
        default: .noError
        }
    }
}
