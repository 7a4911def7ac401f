import Logging
import NIOCore
import SamsaCoordination
import SamsaRecords
import SamsaStorage

/// The internal compacted topic `__consumer_offsets`, where the coordinator keeps committed
/// offsets and group metadata (records in Kafka's formats, see ``OffsetsTopicRecord``).
///
/// A group's records all go to partition `abs(javaHashCode(groupId)) % partitions`, as in
/// Kafka, so one partition replayed in order gives a group's latest state.
enum OffsetsTopic {
    /// The topic's name (``InternalTopics/consumerOffsets``).
    static let name = InternalTopics.consumerOffsets

    /// An offset as the coordinator holds it: the commit, and the offset of the record that
    /// carries it (a later record wins, also when a transaction's offsets become visible after
    /// a plain commit that was written after them).
    struct StoredOffset: Sendable {
        var committed: CommittedOffset
        var recordOffset: Int64
    }

    /// Offsets of one producer's open transaction: group, partition, offset.
    typealias PendingOffsets = [String: [TopicPartition: StoredOffset]]

    /// What replaying the topic yields: the latest group metadata and offsets per group, and
    /// the offsets of transactions that have no marker yet (TxnOffsetCommit writes them as
    /// transactional records; a COMMIT marker makes them visible, an ABORT drops them).
    struct LoadedState {
        var groups: [String: ClassicGroupSnapshot] = [:]
        var offsets: [String: [TopicPartition: StoredOffset]] = [:]
        var pendingTransactionalOffsets: [Int64: PendingOffsets] = [:]
        var recordCount = 0

        /// Applies `entries` of a group where no later record already set the partition.
        mutating func apply(_ entries: [TopicPartition: StoredOffset], group: String) {
            OffsetsTopic.apply(entries, to: &offsets[group, default: [:]])
        }
    }

    /// Sets each partition's offset in `offsets` unless a record later in the log already set
    /// it: applying commits out of log order (a transaction's at its marker) ends where a
    /// replay in log order ends.
    static func apply(
        _ entries: some Sequence<(key: TopicPartition, value: StoredOffset)>, to offsets: inout [TopicPartition: StoredOffset]
    ) {
        for (partition, entry) in entries {
            if let existing = offsets[partition], existing.recordOffset > entry.recordOffset { continue }
            offsets[partition] = entry
        }
    }

    /// Kafka's `Utils.abs(groupId.hashCode) % partitionCount`, with Java's String.hashCode
    /// over UTF-16 code units.
    static func partition(for groupId: String, partitionCount: Int32) -> Int32 {
        var hash: Int32 = 0
        for unit in groupId.utf16 {
            hash = hash &* 31 &+ Int32(unit)
        }
        let positive = hash == Int32.min ? 0 : abs(hash)
        return positive % max(partitionCount, 1)
    }

    /// The topic configs of a new `__consumer_offsets`.
    static func configs(_ configuration: GroupCoordinatorConfiguration) -> [String: String] {
        ["cleanup.policy": "compact", "segment.bytes": String(configuration.offsetsTopicSegmentBytes)]
    }

    /// Reads every partition of the topic from start to end. Blocks on disk.
    static func load(logs: LogManager, partitionCount: Int32, logger: Logger) throws -> LoadedState {
        var state = LoadedState()
        for partition in 0..<partitionCount {
            guard let log = logs.log(for: TopicPartition(topic: name, partition: partition)) else { continue }
            try replay(log, into: &state, logger: logger)
        }
        return state
    }

    private static func replay(_ log: PartitionLog, into state: inout LoadedState, logger: Logger) throws {
        var offset = log.logStartOffset
        let end = log.logEndOffset
        while offset < end {
            let data = try log.read(from: offset, maxBytes: 4 * 1024 * 1024, isolation: .logEnd)
            var scanner = RecordBatchScanner(try data.readRecords(), allowsTrailingPartialBatch: true, verifiesChecksums: true)
            var progressed = false
            while let batch = try scanner.nextBatch() {
                let header = batch.header
                let records = try batch.decodeRecords(maxDecompressedBytes: 64 * 1024 * 1024).filter { $0.offset >= offset }
                if header.attributes.contains(.control) {
                    for record in records {
                        guard let marker = try? ControlRecord(record.record) else { continue }
                        endTransaction(producerId: header.producerId, commit: marker.type == .commit, in: &state)
                    }
                } else {
                    for record in records {
                        apply(
                            record, producerId: header.attributes.contains(.transactional) ? header.producerId : nil, to: &state,
                            logger: logger)
                    }
                }
                offset = batch.header.lastOffset + 1
                progressed = true
            }
            if !progressed { break }
        }
    }

    /// A marker for `producerId` in the partition: its pending offsets become visible or go.
    private static func endTransaction(producerId: Int64, commit: Bool, in state: inout LoadedState) {
        guard let pending = state.pendingTransactionalOffsets.removeValue(forKey: producerId), commit else { return }
        for (group, entries) in pending {
            state.apply(entries, group: group)
        }
    }

    private static func apply(_ record: BatchRecord, producerId: Int64?, to state: inout LoadedState, logger: Logger) {
        guard let key = record.key else { return }
        let decoded: OffsetsTopicRecord?
        do {
            decoded = try OffsetsTopicRecord.decode(key: key, value: record.value)
        } catch {
            logger.warning("skipping an unreadable \(name) record at offset \(record.offset): \(error)")
            return
        }
        state.recordCount += 1
        switch decoded {
        case .offset(let group, let topic, let partition, let committed)?:
            let key = TopicPartition(topic: topic, partition: partition)
            if let producerId {
                // Only commits are written transactionally; a transactional tombstone is ignored.
                if let committed {
                    state.pendingTransactionalOffsets[producerId, default: [:]][group, default: [:]][key] = StoredOffset(
                        committed: committed, recordOffset: record.offset)
                }
            } else if let committed {
                state.offsets[group, default: [:]][key] = StoredOffset(committed: committed, recordOffset: record.offset)
            } else {
                state.offsets[group]?[key] = nil
            }
        case .group(let group, let snapshot)?:
            state.groups[group] = snapshot
            if snapshot == nil {
                state.offsets[group] = nil
            }
        case nil:
            break
        }
    }

    /// The producer of a transactional batch (TxnOffsetCommit's records).
    struct TransactionalProducer: Sendable {
        var producerId: Int64
        var producerEpoch: Int16
    }

    /// One record batch holding `records`; transactional when `producer` is given.
    static func batch(_ records: [OffsetsTopicRecord], timestamp: Int64, producer: TransactionalProducer? = nil) throws -> ByteBuffer {
        var builder = RecordBatchBuilder()
        if let producer {
            builder.producerId = producer.producerId
            builder.producerEpoch = producer.producerEpoch
            builder.isTransactional = true
        }
        for record in records {
            builder.append(key: record.encodeKey(), value: record.encodeValue(), timestamp: timestamp)
        }
        return try builder.build()
    }
}
