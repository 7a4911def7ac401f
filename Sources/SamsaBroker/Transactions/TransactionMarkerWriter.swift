import Logging
import SamsaProtocol
import SamsaRecords
import SamsaStorage

/// Writes the markers that end a transaction (Kafka's `WriteTxnMarkers` work): one COMMIT or
/// ABORT control batch with the producer's id and epoch per partition, appended in leader
/// epoch 0 and durable (fsynced) before it returns, so a coordinator moves to its complete
/// state only once every marker would survive a crash. Waiting fetches are woken, since a
/// marker moves the last stable offset. Blocks: run it on ``BlockingWork``.
struct TransactionMarkerWriter: Sendable {
    let core: BrokerCore

    /// Appends the markers; returns the error of each partition that could not take one
    /// (UNKNOWN_TOPIC_OR_PARTITION for a partition that no longer exists, whose marker Kafka
    /// drops too; KAFKA_STORAGE_ERROR when the log failed). Partitions absent succeeded.
    func writeMarkers(
        producerId: Int64, producerEpoch: Int16, commit: Bool, coordinatorEpoch: Int32 = 0, partitions: [TopicPartition]
    ) -> [TopicPartition: ErrorCode] {
        let marker = ControlRecord(type: commit ? .commit : .abort, coordinatorEpoch: coordinatorEpoch)
        var errors: [TopicPartition: ErrorCode] = [:]
        for partition in partitions {
            guard let log = core.logs.log(for: partition) else {
                errors[partition] = .unknownTopicOrPartition
                continue
            }
            let batch = marker.buildBatch(producerId: producerId, producerEpoch: producerEpoch, timestamp: core.clock.nowMilliseconds())
            do throws(StorageError) {
                _ = try log.append(batch, durability: .flushed, leaderEpoch: PartitionLeadership.leaderEpoch)
            } catch {
                core.logger.error(
                    "could not write a transaction marker",
                    metadata: ["partition": "\(partition)", "producerId": "\(producerId)", "error": "\(error)"])
                errors[partition] = .kafkaStorageError
                continue
            }
            core.appendNotifier.notifyAppended(partition)
        }
        return errors
    }
}
