import Logging
import NIOCore
import SamsaProtocol
import SamsaRecords
import SamsaStorage

/// Appends one partition's batch for a produce request: the checks Kafka makes in
/// `UnifiedLog.append` and `LogValidator` that need the log's configuration, the idempotent
/// producer checks, and the append itself. Runs on ``BlockingWork``, or in place when the
/// request is small and its appends do not block (``appendsWithoutBlocking(_:)``).
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

    /// Appends `item`'s batch. Every refusal becomes the partition's error, Kafka's own from
    /// the checks below and the mapped one (``PartitionError/storage(_:during:partition:logger:)``)
    /// from storage.
    func append(_ item: ProduceHandler.PendingAppend) -> PartitionResult<AppendedBatch> {
        do {
            let appended = try appendChecked(item)
            // Long-poll fetches waiting on this partition re-read now.
            core.appendNotifier.notifyAppended(item.partition)
            return .success(appended)
        } catch let error as PartitionError {
            return .failure(error)
        } catch {
            return .failure(.storage(error, during: .append, partition: item.partition, logger: core.logger))
        }
    }

    /// Whether appending `item` only writes to the page cache and takes locks held briefly, so
    /// it may run where blocking is not allowed: not when the log fsyncs in the append (a
    /// `flush.messages` policy), nor for an idempotent or transactional batch whose partition's
    /// producer state is not loaded yet (the first load reads the log).
    func appendsWithoutBlocking(_ item: ProduceHandler.PendingAppend) -> Bool {
        if case .interval(messages: .some, _) = item.log.config.flushPolicy { return false }
        return !item.header.hasProducerId || core.producerStates.isLoaded(item.partition, log: item.log)
    }

    /// The append and its checks; throws a ``PartitionError`` for a batch Kafka refuses.
    private func appendChecked(_ item: ProduceHandler.PendingAppend) throws -> AppendedBatch {
        let header = item.header
        let batch = item.batch
        let log = item.log
        let partition = item.partition
        if !allowInternalTopics, InternalTopics.all.contains(partition.topic) {
            throw PartitionError(.invalidTopicException, "Cannot append to internal topic \(partition.topic)")
        }
        let config = log.config
        guard header.baseOffset == 0 else {
            throw PartitionError(
                .invalidRecord,
                "The baseOffset of the record batch in the append to \(partition) should be 0, but it is \(header.baseOffset)")
        }
        guard header.totalSize <= config.maxBatchBytes else {
            throw PartitionError(
                .messageTooLarge,
                "The record batch size in the append to \(partition) is \(header.totalSize) bytes which exceeds the maximum configured value of \(config.maxBatchBytes)."
            )
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
            return appended(try log.append(batch, durability: .written, leaderEpoch: PartitionLeadership.leaderEpoch), config: config)
        }
        let now = core.clock.nowMilliseconds()
        return try core.producerStates.withTable(for: partition, log: log) { table in
            // The partition is described only if a message needs it, not for every accepted batch.
            switch table.check(header, partition: partition) {
            case .accept:
                let info = try log.append(batch, durability: .written, leaderEpoch: PartitionLeadership.leaderEpoch)
                table.record(header, lastOffset: info.lastOffset, timestamp: info.maxTimestamp, appendTime: now)
                return appended(info, config: config)
            case .duplicate(let original):
                try Self.verifyChecksum(batch, header: header, partition: partition)
                // What Kafka answers for a duplicate: the original offsets, and the original's
                // stored max timestamp as the append time.
                return AppendedBatch(
                    baseOffset: original.firstOffset, logAppendTime: original.timestamp, logStartOffset: log.logStartOffset,
                    durableOffset: durableOffset(original.lastOffset, config: config))
            case .reject(let code, let message):
                try Self.verifyChecksum(batch, header: header, partition: partition)
                throw PartitionError(code, message)
            }
        }
    }

    private func appended(_ info: LogAppendInfo, config: LogConfig) -> AppendedBatch {
        AppendedBatch(
            baseOffset: info.firstOffset, logAppendTime: info.logAppendTime ?? -1, logStartOffset: info.logStartOffset,
            durableOffset: durableOffset(info.lastOffset, config: config))
    }

    /// The offset acks=-1 waits for; none when the flush policy does not promise fsync at
    /// append (`flush.messages`/`flush.ms` settings trade durability away explicitly).
    private func durableOffset(_ lastOffset: Int64, config: LogConfig) -> Int64? {
        guard waitForFlush, config.flushPolicy == .groupCommit else { return nil }
        return lastOffset + 1
    }

    /// Kafka's `LogValidator.validateBatch` checks for client batches, and the ones that need
    /// the topic's settings, in Kafka's order.
    static func headerProblem(_ header: RecordBatchHeader, partition: TopicPartition, config: LogConfig) -> PartitionError? {
        if header.recordCount <= 0 {
            return PartitionError(
                .invalidRecord, "Invalid reported count for record batch: \(header.recordCount) in topic partition \(partition).")
        }
        if Int64(header.lastOffsetDelta) + 1 != Int64(header.recordCount) {
            return PartitionError(
                .invalidRecord,
                "Inconsistent batch offset range [0, \(header.lastOffsetDelta)] and count of records \(header.recordCount) in topic partition \(partition)."
            )
        }
        if header.isControl {
            return PartitionError(.invalidRecord, "Clients are not allowed to write control records in topic partition \(partition).")
        }
        if header.hasProducerId && header.baseSequence < 0 {
            return PartitionError(
                .invalidRecord,
                "Invalid sequence number \(header.baseSequence) in record batch with producerId \(header.producerId) in topic partition \(partition)."
            )
        }
        if config.timestampType == .createTime && header.timestampType == .logAppendTime {
            let recordError = PartitionError.RecordError(
                batchIndex: 0, message: "Invalid timestamp type in message. Producer should not set timestamp type to LogAppendTime.")
            return PartitionError(
                .invalidTimestamp, "One or more records have been rejected due to invalid timestamp", recordErrors: [recordError])
        }
        if header.totalSize > config.segmentBytes {
            return PartitionError(
                .recordListTooLarge,
                "Message batch size is \(header.totalSize) bytes in append to partition \(partition) which exceeds the maximum configured segment size of \(config.segmentBytes)."
            )
        }
        return nil
    }

    static func verifyChecksum(_ batch: ByteBuffer, header: RecordBatchHeader, partition: TopicPartition) throws {
        do {
            try RecordBatch.verifyChecksum(batch, at: batch.readerIndex, header: header)
        } catch {
            throw PartitionError(.corruptMessage, "Record is corrupt (stored crc = \(header.crc)) in topic partition \(partition).")
        }
    }

    /// A compacted topic needs a key on every record (Kafka's LogValidator). This is the one
    /// place produce decodes records, decompressing within the batch size limit's budget.
    static func checkKeys(_ batch: ByteBuffer, header: RecordBatchHeader, partition: TopicPartition) throws {
        var keyless: [PartitionError.RecordError] = []
        do {
            let parsed = try RecordBatch(batch)
            var records = try parsed.records(maxDecompressedBytes: maxDecompressedBytes)
            var index: Int32 = 0
            while let record = try records.next() {
                if record.key == nil {
                    keyless.append(
                        PartitionError.RecordError(
                            batchIndex: index, message: "Compacted topic cannot accept message without key in topic partition \(partition)."
                        ))
                }
                index += 1
            }
        } catch {
            throw PartitionError(.corruptMessage, "Records of the batch in topic partition \(partition) cannot be read: \(error)")
        }
        guard keyless.isEmpty else {
            let shown = keyless.prefix(3).map { "RecordError(batchIndex=\($0.batchIndex), message='\($0.message)')" }
            throw PartitionError(
                .invalidRecord,
                "One or more records have been rejected due to \(keyless.count) record errors in total, and only showing the first three errors at most: [\(shown.joined(separator: ", "))]",
                recordErrors: keyless)
        }
    }

    /// The decompression budget for the key check on compacted topics.
    static let maxDecompressedBytes = 64 * 1024 * 1024
}

/// A batch appended to its partition's log, or found there as a retried duplicate: what the
/// partition answers, and what acks=-1 waits for.
struct AppendedBatch: Sendable {
    var baseOffset: Int64
    /// The append time on a LogAppendTime topic, else -1.
    var logAppendTime: Int64
    var logStartOffset: Int64
    /// The offset that must be durable before the answer is sent, if any.
    var durableOffset: Int64?
}
