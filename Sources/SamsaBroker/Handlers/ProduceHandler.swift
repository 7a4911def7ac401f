import Logging
import NIOCore
import SamsaProtocol
import SamsaRecords
import SamsaStorage

/// Produce (key 0), versions 3-13 answered; 0-13 advertised.
///
/// Advertises 0-13 as Kafka 4 does (librdkafka before 2.11.1 will not produce compressed
/// batches unless v0-2 are listed), but closes the connection on a request below v3, since
/// those carry legacy message sets.
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

    /// A partition whose batch passed the request-level checks and goes to its log.
    struct PendingAppend: Sendable {
        var topicIndex: Int
        var partitionIndex: Int
        var partition: TopicPartition
        var log: PartitionLog
        var batch: ByteBuffer
        var header: RecordBatchHeader
    }

    func handle(_ request: ProduceRequest, context: RequestContext) async throws -> ProduceResponse? {
        let version = context.apiVersion
        guard version >= 3 else {
            throw RequestRejection("Produce v\(version) carries a legacy message set; only v3 and later are accepted")
        }
        var response = ProduceResponse()
        response.responses.reserveCapacity(request.topicData.count)
        var pending: [PendingAppend] = []
        var transactionalWithoutId = false
        let image = core.topics.image
        for (topicIndex, topicData) in request.topicData.enumerated() {
            var topicResponse = ProduceResponse.TopicProduceResponse()
            let topic: TopicMetadata?
            let missing: ErrorCode
            if version >= 13 {
                topicResponse.topicId = topicData.topicId
                topic = image.topic(id: topicData.topicId)
                missing = .unknownTopicId
            } else {
                topicResponse.name = topicData.name
                topic = image.topic(named: topicData.name)
                missing = .unknownTopicOrPartition
            }
            topicResponse.partitionResponses.reserveCapacity(topicData.partitionData.count)
            for (partitionIndex, partitionData) in topicData.partitionData.enumerated() {
                var result = ProduceResponse.PartitionProduceResponse()
                result.index = partitionData.index
                let outcome = Self.locate(partitionData, in: topic, missing: missing, version: version, logs: core.logs)
                switch outcome {
                case .failure(let failure):
                    result.fail(failure)
                case .success(let (log, batch, header)):
                    if header.isTransactional && request.transactionalId == nil { transactionalWithoutId = true }
                    result.baseOffset = -1
                    pending.append(PendingAppend(
                        topicIndex: topicIndex, partitionIndex: partitionIndex,
                        partition: TopicPartition(topic: topic!.name, partition: partitionData.index),
                        log: log, batch: batch, header: header))
                }
                topicResponse.partitionResponses.append(result)
            }
            response.responses.append(topicResponse)
        }

        if transactionalWithoutId {
            // Kafka refuses the whole request before looking at any partition.
            response.failAll(PartitionFailure(.transactionalIdAuthorizationFailed, "Transactional records need a transactional id."))
            pending.removeAll()
        } else if ![-1, 0, 1].contains(request.acks) {
            for item in pending {
                response.responses[item.topicIndex].partitionResponses[item.partitionIndex]
                    .fail(PartitionFailure(.invalidRequiredAcks, "acks must be -1, 0 or 1, not \(request.acks)."))
            }
            pending.removeAll()
        }

        if !pending.isEmpty {
            let appender = ProduceAppender(
                core: core, version: version, waitForFlush: request.acks == -1,
                allowInternalTopics: context.clientId == "__admin_client")
            let work = pending
            let results = try await core.blocking.run { work.map { appender.append($0) } }
            var durable: [(index: Int, log: PartitionLog, offset: Int64)] = []
            for (index, (item, result)) in zip(pending, results).enumerated() {
                response.responses[item.topicIndex].partitionResponses[item.partitionIndex] = result.response
                if let offset = result.durableOffset { durable.append((index, item.log, offset)) }
            }
            for (index, failure) in try await waitUntilDurable(durable) {
                let item = pending[index]
                response.responses[item.topicIndex].partitionResponses[item.partitionIndex].fail(failure)
            }
        }

        guard request.acks != 0 else {
            if let failure = response.firstFailure {
                // No response to carry the error: close, so the producer refreshes its metadata.
                throw RequestRejection("produce with acks=0 failed: \(failure)")
            }
            return nil
        }
        return response
    }

    /// Waits until each log is durable up to its offset, in parallel across logs, so partitions
    /// share the wait rather than queue behind each other's fsyncs. Returns the failures.
    private func waitUntilDurable(_ waits: [(index: Int, log: PartitionLog, offset: Int64)]) async throws -> [(Int, PartitionFailure)] {
        guard !waits.isEmpty else { return [] }
        let blocking = core.blocking
        let logger = core.logger
        return try await withThrowingTaskGroup(of: (Int, PartitionFailure)?.self) { group in
            for wait in waits {
                group.addTask {
                    try await blocking.run {
                        do {
                            try wait.log.waitUntilDurable(wait.offset)
                            return nil
                        } catch {
                            logger.error("flush failed for a produce with acks=-1", metadata: [
                                "directory": "\(wait.log.directory)", "error": "\(error)",
                            ])
                            return (wait.index, PartitionFailure(.kafkaStorageError, "The data could not be made durable: \(error)"))
                        }
                    }
                }
            }
            var failures: [(Int, PartitionFailure)] = []
            for try await failure in group {
                if let failure { failures.append(failure) }
            }
            return failures
        }
    }

    /// Finds the partition's log and checks its data as Kafka's `ProduceRequest.validateRecords`
    /// does: exactly one complete batch, magic 2, no zstd before v7. Reads only the header.
    static func locate(
        _ data: ProduceRequest.PartitionProduceData, in topic: TopicMetadata?, missing: ErrorCode, version: Int16,
        logs: LogManager
    ) -> Result<(PartitionLog, ByteBuffer, RecordBatchHeader), PartitionFailure> {
        guard let topic, data.index >= 0, data.index < topic.partitionCount,
            let log = logs.log(for: TopicPartition(topic: topic.name, partition: data.index))
        else {
            return .failure(PartitionFailure(missing, "This server does not host this topic-partition."))
        }
        switch BatchInspection.single(data.records, version: version) {
        case .failure(let failure): return .failure(failure)
        case .success(let (batch, header)): return .success((log, batch, header))
        }
    }
}

/// A per-partition Kafka error with the message sent from v8.
struct PartitionFailure: Error, Sendable, CustomStringConvertible {
    var code: ErrorCode
    var message: String
    var recordErrors: [ProduceResponse.BatchIndexAndErrorMessage] = []

    init(_ code: ErrorCode, _ message: String, recordErrors: [ProduceResponse.BatchIndexAndErrorMessage] = []) {
        self.code = code
        self.message = message
        self.recordErrors = recordErrors
    }

    var description: String { "\(code): \(message)" }
}

extension ProduceResponse.PartitionProduceResponse {
    /// Turns this entry into Kafka's answer for a failed partition.
    mutating func fail(_ failure: PartitionFailure) {
        errorCode = failure.code.rawValue
        errorMessage = failure.message
        recordErrors = failure.recordErrors
        baseOffset = -1
        logAppendTimeMs = -1
        logStartOffset = -1
    }
}

extension ProduceResponse {
    /// Fails every partition of the response with `failure`.
    mutating func failAll(_ failure: PartitionFailure) {
        for topic in responses.indices {
            for partition in responses[topic].partitionResponses.indices {
                responses[topic].partitionResponses[partition].fail(failure)
            }
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
