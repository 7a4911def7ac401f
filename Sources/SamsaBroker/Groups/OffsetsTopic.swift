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

    /// What replaying the topic yields: the latest group metadata and offsets per group.
    struct LoadedState {
        var groups: [String: ClassicGroupSnapshot] = [:]
        var offsets: [String: [TopicPartition: CommittedOffset]] = [:]
        var recordCount = 0
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
                if !batch.header.attributes.contains(.control) {
                    for record in try batch.decodeRecords(maxDecompressedBytes: 64 * 1024 * 1024) where record.offset >= offset {
                        apply(record, to: &state, logger: logger)
                    }
                }
                offset = batch.header.lastOffset + 1
                progressed = true
            }
            if !progressed { break }
        }
    }

    private static func apply(_ record: BatchRecord, to state: inout LoadedState, logger: Logger) {
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
            state.offsets[group, default: [:]][TopicPartition(topic: topic, partition: partition)] = committed
        case .group(let group, let snapshot)?:
            state.groups[group] = snapshot
            if snapshot == nil {
                state.offsets[group] = nil
            }
        case nil:
            break
        }
    }

    /// One record batch holding `records`.
    static func batch(_ records: [OffsetsTopicRecord], timestamp: Int64) throws -> ByteBuffer {
        var builder = RecordBatchBuilder()
        for record in records {
            builder.append(key: record.encodeKey(), value: record.encodeValue(), timestamp: timestamp)
        }
        return try builder.build()
    }
}
