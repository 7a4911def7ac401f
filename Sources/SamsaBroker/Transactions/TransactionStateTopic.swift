import Logging
import NIOCore
import SamsaCoordination
import SamsaRecords
import SamsaStorage

/// The settings of the transaction coordinator, named after Kafka's broker configs.
public struct TransactionCoordinatorConfiguration: Sendable {
    /// `transaction.max.timeout.ms` and `transactional.id.expiration.ms`.
    public var settings = TransactionCoordinatorSettings()
    /// `transaction.state.log.num.partitions` for a new `__transaction_state` (Kafka: 50; 10
    /// here for the reason ``GroupCoordinatorConfiguration/offsetsTopicPartitionCount`` gives).
    public var stateTopicPartitionCount: Int32 = 10
    /// `transaction.state.log.segment.bytes`.
    public var stateTopicSegmentBytes: Int = 100 * 1024 * 1024

    public init() {}
}

/// The internal compacted topic `__transaction_state`: the latest ``TransactionMetadata`` of
/// every transactional id, in Kafka's record formats (``TransactionStateRecord``). An id's
/// records all go to partition `abs(javaHashCode(id)) % partitions`, as in Kafka.
enum TransactionStateTopic {
    static let name = InternalTopics.transactionState

    static func partition(for transactionalId: String, partitionCount: Int32) -> Int32 {
        OffsetsTopic.partition(for: transactionalId, partitionCount: partitionCount)
    }

    static func configs(_ configuration: TransactionCoordinatorConfiguration) -> [String: String] {
        ["cleanup.policy": "compact", "segment.bytes": String(configuration.stateTopicSegmentBytes)]
    }

    /// One batch holding `metadata`'s record (or the id's tombstone when nil).
    static func batch(transactionalId: String, _ metadata: TransactionMetadata?, timestamp: Int64) throws -> ByteBuffer {
        var builder = RecordBatchBuilder()
        builder.append(
            key: TransactionStateRecord.encodeKey(transactionalId), value: metadata.map(TransactionStateRecord.encodeValue),
            timestamp: timestamp)
        return try builder.build()
    }

    /// Every partition read from start to end: the latest state of each id. Blocks on disk.
    static func load(logs: LogManager, partitionCount: Int32) throws -> [(transactionalId: String, metadata: TransactionMetadata?)] {
        var records: [(transactionalId: String, metadata: TransactionMetadata?)] = []
        for partition in 0..<partitionCount {
            guard let log = logs.log(for: TopicPartition(topic: name, partition: partition)) else { continue }
            var offset = log.logStartOffset
            while offset < log.logEndOffset {
                let read = try log.read(from: offset, maxBytes: 4 * 1024 * 1024, isolation: .logEnd)
                var scanner = RecordBatchScanner(try read.readRecords())
                var advanced = false
                while let batch = try scanner.nextBatch() {
                    for record in try batch.decodeRecords(maxDecompressedBytes: 64 << 20) {
                        guard let key = record.key else { continue }
                        let id = try TransactionStateRecord.decodeKey(key)
                        records.append((id, try record.value.map { try TransactionStateRecord.decodeValue($0, transactionalId: id) }))
                    }
                    offset = batch.header.lastOffset + 1
                    advanced = true
                }
                guard advanced else { break }
            }
        }
        return records
    }
}
