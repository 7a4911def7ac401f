import Logging
import NIOCore
import SamsaProtocol
import SamsaRecords
import SamsaStorage

/// Appends one partition's batch for a produce request: the checks Kafka makes in
/// `UnifiedLog.append` and `LogValidator` that need the log's configuration, the idempotent
/// producer checks, and the append itself. Runs on ``BlockingWork``.
///
/// The CRC is computed once: by the log's append for a batch that is appended, and here only
/// for a batch refused or answered as a duplicate (Kafka checks the CRC before those checks,
/// so a corrupt batch must get CORRUPT_MESSAGE whatever else is wrong with it).
struct ProduceAppender: Sendable {
    let core: BrokerCore
    let version: Int16
    /// acks=-1: the answer waits for an fsync covering the batch.
    let waitForFlush: Bool
    /// Kafka lets only its admin client write to internal topics.
    let allowInternalTopics: Bool

    /// One partition's answer, and the offset that must be durable before it is sent.
    struct Outcome: Sendable {
        var response: ProduceResponse.PartitionProduceResponse
        var durableOffset: Int64?
    }

    /// Appends `item`'s batch, turning every refusal into the partition's error.
    func append(_ item: ProduceHandler.PendingAppend) -> Outcome {
        var response = ProduceResponse.PartitionProduceResponse()
        response.index = item.partition.partition
        do {
            let outcome = try appendChecked(item, into: response)
            // Long-poll fetches waiting on this partition re-read now.
            core.appendNotifier.notifyAppended(item.partition)
            return outcome
        } catch let failure as PartitionFailure {
            response.fail(failure)
        } catch let error as StorageError where error.isInvalidInput {
            response.fail(PartitionFailure(.corruptMessage, "Record is corrupt in topic partition \(item.partition): \(error)"))
        } catch let error as StorageError where error.isClosed {
            response.fail(PartitionFailure(.unknownTopicOrPartition, "This server does not host this topic-partition."))
        } catch {
            core.logger.error("append failed", metadata: ["partition": "\(item.partition)", "error": "\(error)"])
            response.fail(PartitionFailure(.kafkaStorageError, "The log could not be written: \(error)"))
        }
        return Outcome(response: response, durableOffset: nil)
    }

    private func appendChecked(
        _ item: ProduceHandler.PendingAppend, into response: ProduceResponse.PartitionProduceResponse
    ) throws -> Outcome {
        let header = item.header
        let batch = item.batch
        let log = item.log
        let partition = item.partition
        if !allowInternalTopics, Self.internalTopics.contains(partition.topic) {
            throw PartitionFailure(.invalidTopicException, "Cannot append to internal topic \(partition.topic)")
        }
        let config = log.config
        guard header.baseOffset == 0 else {
            throw PartitionFailure(.invalidRecord, "The baseOffset of the record batch in the append to \(partition) should be 0, but it is \(header.baseOffset)")
        }
        guard header.totalSize <= config.maxBatchBytes else {
            throw PartitionFailure(.messageTooLarge, "The record batch size in the append to \(partition) is \(header.totalSize) bytes which exceeds the maximum configured value of \(config.maxBatchBytes).")
        }
        if let failure = Self.headerProblem(header, partition: partition, config: config) {
            try Self.verifyChecksum(batch, header: header, partition: partition)
            throw failure
        }
        if config.cleanupPolicy.contains(.compact) {
            // The CRC is checked here only when the keys fail (a corrupt batch must get
            // CORRUPT_MESSAGE first); a good batch has it checked once, by the log's append.
            do {
                try Self.checkKeys(batch, header: header, partition: partition)
            } catch {
                try Self.verifyChecksum(batch, header: header, partition: partition)
                throw error
            }
        }
        guard header.hasProducerId else {
            return success(try log.append(batch, durability: .written, leaderEpoch: PartitionLeadership.leaderEpoch), config: config, into: response)
        }
        let now = core.clock.nowMilliseconds()
        return try core.producerStates.withTable(for: partition, log: log) { table in
            switch table.check(header, partition: "\(partition)") {
            case .accept:
                let info = try log.append(batch, durability: .written, leaderEpoch: PartitionLeadership.leaderEpoch)
                table.record(header, lastOffset: info.lastOffset, timestamp: info.maxTimestamp, appendTime: now)
                return success(info, config: config, into: response)
            case .duplicate(let original):
                try Self.verifyChecksum(batch, header: header, partition: partition)
                var response = response
                // What Kafka answers for a duplicate: the original offsets, and the original's
                // stored max timestamp as the append time.
                response.baseOffset = original.firstOffset
                response.logAppendTimeMs = original.timestamp
                response.logStartOffset = log.logStartOffset
                return Outcome(response: response, durableOffset: durableOffset(original.lastOffset, config: config))
            case .reject(let code, let message):
                try Self.verifyChecksum(batch, header: header, partition: partition)
                throw PartitionFailure(code, message)
            }
        }
    }

    private func success(
        _ info: LogAppendInfo, config: LogConfig, into response: ProduceResponse.PartitionProduceResponse
    ) -> Outcome {
        var response = response
        response.baseOffset = info.firstOffset
        response.logAppendTimeMs = info.logAppendTime ?? -1
        response.logStartOffset = info.logStartOffset
        return Outcome(response: response, durableOffset: durableOffset(info.lastOffset, config: config))
    }

    /// The offset acks=-1 waits for; none when the flush policy does not promise fsync at
    /// append (`flush.messages`/`flush.ms` settings trade durability away explicitly).
    private func durableOffset(_ lastOffset: Int64, config: LogConfig) -> Int64? {
        guard waitForFlush, config.flushPolicy == .groupCommit else { return nil }
        return lastOffset + 1
    }

    static let internalTopics: Set<String> = ["__consumer_offsets", "__transaction_state"]

    /// Kafka's `LogValidator.validateBatch` checks for client batches, and the ones that need
    /// the topic's settings, in Kafka's order.
    static func headerProblem(_ header: RecordBatchHeader, partition: TopicPartition, config: LogConfig) -> PartitionFailure? {
        if header.recordCount <= 0 {
            return PartitionFailure(.invalidRecord, "Invalid reported count for record batch: \(header.recordCount) in topic partition \(partition).")
        }
        if Int64(header.lastOffsetDelta) + 1 != Int64(header.recordCount) {
            return PartitionFailure(.invalidRecord, "Inconsistent batch offset range [0, \(header.lastOffsetDelta)] and count of records \(header.recordCount) in topic partition \(partition).")
        }
        if header.isControl {
            return PartitionFailure(.invalidRecord, "Clients are not allowed to write control records in topic partition \(partition).")
        }
        if header.hasProducerId && header.baseSequence < 0 {
            return PartitionFailure(.invalidRecord, "Invalid sequence number \(header.baseSequence) in record batch with producerId \(header.producerId) in topic partition \(partition).")
        }
        if header.isTransactional {
            return PartitionFailure(.invalidTxnState, "Record was not part of an ongoing transaction: transactions are not supported by this broker yet.")
        }
        if config.timestampType == .createTime && header.timestampType == .logAppendTime {
            var recordError = ProduceResponse.BatchIndexAndErrorMessage()
            recordError.batchIndex = 0
            recordError.batchIndexErrorMessage = "Invalid timestamp type in message. Producer should not set timestamp type to LogAppendTime."
            return PartitionFailure(.invalidTimestamp, "One or more records have been rejected due to invalid timestamp", recordErrors: [recordError])
        }
        if header.totalSize > config.segmentBytes {
            return PartitionFailure(.recordListTooLarge, "Message batch size is \(header.totalSize) bytes in append to partition \(partition) which exceeds the maximum configured segment size of \(config.segmentBytes).")
        }
        return nil
    }

    static func verifyChecksum(_ batch: ByteBuffer, header: RecordBatchHeader, partition: TopicPartition) throws {
        do {
            try RecordBatch.verifyChecksum(batch, at: batch.readerIndex, header: header)
        } catch {
            throw PartitionFailure(.corruptMessage, "Record is corrupt (stored crc = \(header.crc)) in topic partition \(partition).")
        }
    }

    /// A compacted topic needs a key on every record (Kafka's LogValidator). This is the one
    /// place produce decodes records, decompressing within the batch size limit's budget.
    static func checkKeys(_ batch: ByteBuffer, header: RecordBatchHeader, partition: TopicPartition) throws {
        var keyless: [ProduceResponse.BatchIndexAndErrorMessage] = []
        do {
            let parsed = try RecordBatch(batch)
            var records = try parsed.records(maxDecompressedBytes: maxDecompressedBytes)
            var index: Int32 = 0
            while let record = try records.next() {
                if record.key == nil {
                    var error = ProduceResponse.BatchIndexAndErrorMessage()
                    error.batchIndex = index
                    error.batchIndexErrorMessage = "Compacted topic cannot accept message without key in topic partition \(partition)."
                    keyless.append(error)
                }
                index += 1
            }
        } catch {
            throw PartitionFailure(.corruptMessage, "Records of the batch in topic partition \(partition) cannot be read: \(error)")
        }
        guard keyless.isEmpty else {
            let shown = keyless.prefix(3).map { "RecordError(batchIndex=\($0.batchIndex), message='\($0.batchIndexErrorMessage ?? "")')" }
            throw PartitionFailure(
                .invalidRecord,
                "One or more records have been rejected due to \(keyless.count) record errors in total, and only showing the first three errors at most: [\(shown.joined(separator: ", "))]",
                recordErrors: keyless)
        }
    }

    /// The decompression budget for the key check on compacted topics.
    static let maxDecompressedBytes = 64 * 1024 * 1024
}
