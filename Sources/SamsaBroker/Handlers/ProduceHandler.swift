import Logging
import NIOCore
import SamsaCoordination
import SamsaProtocol
import SamsaRecords
import SamsaStorage

/// Produce (key 0), versions 0-13.
///
/// v0-2 (beyond Kafka 4, which only advertises them for librdkafka's sake) carry legacy
/// message sets (magic 0 and 1): they are validated and converted to one record batch v2 before
/// the checks below, as Kafka 3.x converted them (``LegacyConversion``).
///
/// Each partition's data must be exactly one magic-2 batch; it is checked from its header and
/// CRC alone and appended as it is (offsets assigned by rewriting the header), never decoded
/// record by record, except on a compacted topic, whose records must all have keys.
/// Per-partition errors follow Kafka: UNKNOWN_TOPIC_OR_PARTITION (or UNKNOWN_TOPIC_ID at v13),
/// INVALID_RECORD, CORRUPT_MESSAGE, MESSAGE_TOO_LARGE, RECORD_LIST_TOO_LARGE,
/// UNSUPPORTED_COMPRESSION_TYPE (zstd below v7), INVALID_REQUIRED_ACKS, INVALID_TOPIC_EXCEPTION
/// (internal topics), and for idempotent producers INVALID_PRODUCER_EPOCH and
/// OUT_OF_ORDER_SEQUENCE_NUMBER; a retried duplicate gets NONE and its original offsets.
/// Like Kafka, produce never auto-creates topics (only Metadata does).
///
/// acks=1 is answered once the batch is in the log, acks=-1 once it is fsynced (group commit,
/// shared with concurrent requests), acks=0 not at all, except that an error closes the
/// connection as Kafka does. Differs from Kafka: no timestamp range checks, and transactional
/// batches get INVALID_TXN_STATE until transactions exist.
struct ProduceHandler: RequestHandler {
    typealias Request = ProduceRequest

    let core: BrokerCore
    let transactions: TransactionCoordinator

    /// Where a partition stands in the request, and so in the response, which follows its order.
    struct Position: Hashable, Sendable {
        var topic: Int
        var partition: Int
    }

    /// A partition whose batch passed the request-level checks and goes to its log.
    struct PendingAppend: Sendable {
        var position: Position
        var partition: TopicPartition
        var log: PartitionLog
        var batch: ByteBuffer
        var header: RecordBatchHeader
    }

    func handle(_ request: ProduceRequest, context: RequestContext) async throws -> ProduceResponse? {
        let version = context.apiVersion
        var located = locate(request, version: version, context: context)
        let transactionalIdAllowed = request.transactionalId.map { context.allows(.write, .transactionalId, $0) } ?? true
        if let transactionalId = request.transactionalId, transactionalIdAllowed {
            located = await verifyTransactional(located, transactionalId: transactionalId, version: version)
        }
        // Before the appends: the session is muted for a quota before the next request may start
        // (the produce handler lets it start once its batches are appended).
        let bytes = request.topicData.reduce(0) { $0 + $1.partitionData.reduce(0) { $0 + ($1.records?.readableBytes ?? 0) } }
        let throttleTimeMs = context.throttle(.produce, bytes: bytes, quotas: core.quotas, now: core.clock.nowMilliseconds())
        let outcomes: [[PartitionResult<AppendedBatch>]]
        if !transactionalIdAllowed {
            let refusal = PartitionError(.transactionalIdAuthorizationFailed, "Not authorized to use the transactional id.")
            outcomes = located.map { $0.map { _ in .failure(refusal) } }
        } else if request.transactionalId == nil,
            located.joined().contains(where: { (try? $0.get())?.header.isTransactional == true })
        {
            // Kafka refuses the whole request before looking at any partition.
            let refusal = PartitionError(.transactionalIdAuthorizationFailed, "Transactional records need a transactional id.")
            outcomes = located.map { $0.map { _ in .failure(refusal) } }
        } else {
            let pending = located.joined().compactMap { try? $0.get() }
            let appended = try await append(pending, recordBytes: bytes, acks: request.acks, context: context)
            // Every located partition was pending, so each has an outcome by its position.
            outcomes = located.map { $0.map { $0.flatMap { appended[$0.position]! } } }
        }
        var response = ProduceResponse(answering: request, version: version, outcomes: outcomes)
        response.throttleTimeMs = throttleTimeMs
        guard request.acks != 0 else {
            if let failure = response.firstFailure {
                // No response to carry the error: close, so the producer refreshes its metadata.
                throw RequestRejection("produce with acks=0 failed: \(failure)")
            }
            return nil
        }
        return response
    }

    /// Transactional batches are appended only to partitions added to the producer's ongoing
    /// transaction (KIP-890 part 1, server-side verification); others, and batches of an id
    /// the coordinator does not know, get INVALID_TXN_STATE, and a stale epoch
    /// INVALID_PRODUCER_EPOCH. From v12 (transactions V2, KIP-890 part 2) the partition is
    /// added to the transaction here, as AddPartitionsToTxn would; a coordinator busy ending
    /// the previous transaction answers NOT_ENOUGH_REPLICAS, which producers retry. Nothing is
    /// appended for a refused batch.
    private func verifyTransactional(
        _ located: [[PartitionResult<PendingAppend>]], transactionalId: String, version: Int16
    ) async -> [[PartitionResult<PendingAppend>]] {
        var verified = located
        for (topicIndex, partitions) in located.enumerated() {
            for (partitionIndex, outcome) in partitions.enumerated() {
                guard case .success(let pending) = outcome, pending.header.isTransactional else { continue }
                let partition = TransactionPartition(topic: pending.partition.topic, partition: pending.partition.partition)
                var verdict: ErrorCode
                if version >= 12 {
                    verdict = await transactions.addPartitions(
                        transactionalId: transactionalId, producerId: pending.header.producerId,
                        producerEpoch: pending.header.producerEpoch, partitions: [partition])
                    if verdict == .producerFenced { verdict = .invalidProducerEpoch }
                    if verdict == .concurrentTransactions || verdict == .coordinatorNotAvailable { verdict = .notEnoughReplicas }
                } else {
                    verdict = await transactions.verify(
                        partition, transactionalId: transactionalId, producerId: pending.header.producerId,
                        producerEpoch: pending.header.producerEpoch)
                }
                guard verdict != .noError else { continue }
                let code: ErrorCode = verdict == .invalidProducerIdMapping ? .invalidTxnState : verdict
                let message = code == .invalidTxnState ? "Record was not part of an ongoing transaction" : nil
                verified[topicIndex][partitionIndex] = .failure(PartitionError(code, message))
            }
        }
        return verified
    }

    /// Each partition's log and batch, in request order, or why it has none: an unknown topic
    /// or partition (UNKNOWN_TOPIC_ID at v13, which names topics by id), or data that is not
    /// exactly one acceptable batch (see ``BatchInspection``), or a topic the principal may not
    /// write (TOPIC_AUTHORIZATION_FAILED).
    private func locate(_ request: ProduceRequest, version: Int16, context: RequestContext) -> [[PartitionResult<PendingAppend>]] {
        let image = core.topics.image
        let missing: ErrorCode = version >= 13 ? .unknownTopicId : .unknownTopicOrPartition
        return request.topicData.enumerated().map { topicIndex, topicData in
            let topic = version >= 13 ? image.topic(id: topicData.topicId) : image.topic(named: topicData.name)
            let name = topic?.name ?? topicData.name
            if !name.isEmpty, !context.allows(.write, .topic, name) {
                return topicData.partitionData.map { _ in .failure(PartitionError(.topicAuthorizationFailed)) }
            }
            return topicData.partitionData.enumerated().map { partitionIndex, data in
                core.servingLog(topic: topic, partition: data.index, missing: missing).flatMap { log in
                    let inspected =
                        version < 3
                        ? LegacyConversion.producedBatch(data.records, version: version)
                        : BatchInspection.single(data.records, version: version)
                    return inspected.map { inspected in
                        PendingAppend(
                            position: Position(topic: topicIndex, partition: partitionIndex),
                            partition: TopicPartition(topic: topic!.name, partition: data.index),
                            log: log, batch: inspected.batch, header: inspected.header)
                    }
                }
            }
        }
    }

    /// Requests with at most this many bytes of records append where they run (the
    /// connection's event loop, see ``Broker/pipelinedRequestExecutor(for:)``) when their
    /// appends do not block; larger ones run on the blocking pool.
    ///
    /// A small append costs a few microseconds of copying into the page cache, less than the
    /// two thread hand-offs to the pool and back, which on a machine whose cores are busy also
    /// wait for the scheduler. With librdkafka sending a request per few records (linger.ms 0,
    /// idempotence off) at 20,000 records/s, appending on the pool made the broker fall behind:
    /// delivery took 110-340 ms at the median, against 1.0-2.4 ms appending in place.
    static let inlineAppendBytes = 64 * 1024

    /// Appends the pending batches (in place when the request's `recordBytes` are few, see
    /// ``inlineAppendBytes``; on the blocking pool otherwise), then waits until those acks=-1 answers after are durable.
    /// Every pending partition fails alike for an invalid `acks`.
    private func append(
        _ pending: [PendingAppend], recordBytes: Int, acks: Int16, context: RequestContext
    ) async throws -> [Position: PartitionResult<AppendedBatch>] {
        var outcomes: [PartitionResult<AppendedBatch>] = []
        if ![-1, 0, 1].contains(acks) {
            let failure = PartitionError(.invalidRequiredAcks, "acks must be -1, 0 or 1, not \(acks).")
            outcomes = pending.map { _ in .failure(failure) }
        } else if !pending.isEmpty {
            let appender = ProduceAppender(
                core: core, version: context.apiVersion, waitForFlush: acks == -1,
                allowInternalTopics: context.clientId == InternalTopics.adminClientId)
            if recordBytes <= Self.inlineAppendBytes, pending.allSatisfy(appender.appendsWithoutBlocking) {
                outcomes = pending.map { appender.append($0) }
            } else {
                outcomes = try await core.blocking.run { pending.map { appender.append($0) } }
            }
            // Appended: the connection's next request may be read and appended while these
            // wait to be durable, and share their fsync.
            context.connection.ordering?.allowNext()
            for (index, failure) in await waitUntilDurable(pending, outcomes) {
                outcomes[index] = .failure(failure)
            }
        }
        return Dictionary(uniqueKeysWithValues: zip(pending.map(\.position), outcomes))
    }

    /// Waits until each appended batch that asks for it is durable, in parallel across logs,
    /// so partitions share the wait rather than queue behind each other's fsyncs. Returns the
    /// failures by index in `pending`.
    private func waitUntilDurable(
        _ pending: [PendingAppend], _ outcomes: [PartitionResult<AppendedBatch>]
    ) async -> [(Int, PartitionError)] {
        let waits = zip(pending, outcomes).enumerated().compactMap { index, appended -> (index: Int, item: PendingAppend, offset: Int64)? in
            guard case .success(let batch) = appended.1, let offset = batch.durableOffset else { return nil }
            return (index, appended.0, offset)
        }
        let results = await core.blocking.waitUntilDurable(waits.map { (log: $0.item.log, offset: $0.offset) })
        return zip(waits, results).compactMap { wait, error in
            error.map { (wait.index, .storage($0, during: .flush, partition: wait.item.partition, logger: core.logger)) }
        }
    }
}

extension ProduceResponse {
    /// The response to `request`: each partition's entry from its outcome, in request order.
    init(answering request: ProduceRequest, version: Int16, outcomes: [[PartitionResult<AppendedBatch>]]) {
        self.init()
        responses = zip(request.topicData, outcomes).map { topicData, partitions in
            var topic = TopicProduceResponse()
            if version >= 13 {
                topic.topicId = topicData.topicId
            } else {
                topic.name = topicData.name
            }
            topic.partitionResponses = zip(topicData.partitionData, partitions).map { data, outcome in
                PartitionProduceResponse(index: data.index, outcome: outcome)
            }
            return topic
        }
    }

    /// The first partition error, if any, for the acks=0 log line.
    var firstFailure: String? {
        for topic in responses {
            for partition in topic.partitionResponses where partition.errorCode != ErrorCode.noError.rawValue {
                return "\(topic.name)-\(partition.index): \(ErrorCode(rawValue: partition.errorCode))"
            }
        }
        return nil
    }
}

extension ProduceResponse.PartitionProduceResponse {
    /// Partition `index`'s entry: the batch's offsets, or Kafka's answer for a failed
    /// partition (offsets -1, the error's message and record errors).
    init(index: Int32, outcome: PartitionResult<AppendedBatch>) {
        self.init()
        self.index = index
        switch outcome {
        case .success(let appended):
            baseOffset = appended.baseOffset
            logAppendTimeMs = appended.logAppendTime
            logStartOffset = appended.logStartOffset
        case .failure(let error):
            errorCode = error.code.rawValue
            errorMessage = error.message
            recordErrors = error.recordErrors.map { recordError in
                var entry = ProduceResponse.BatchIndexAndErrorMessage()
                entry.batchIndex = recordError.batchIndex
                entry.batchIndexErrorMessage = recordError.message
                return entry
            }
            baseOffset = -1
            logAppendTimeMs = -1
            logStartOffset = -1
        }
    }
}
