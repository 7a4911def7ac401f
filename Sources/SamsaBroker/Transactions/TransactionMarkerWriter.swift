import Logging
import SamsaProtocol
import SamsaRecords
import SamsaStorage

/// Writes the markers that end a transaction (Kafka's `WriteTxnMarkers` work): one COMMIT or
/// ABORT control batch with the producer's id and epoch per partition, appended in leader
/// epoch 0 and durable (fsynced) before it returns, so a coordinator moves to its complete
/// state only once every marker would survive a crash. The markers are appended first and the
/// partitions' fsyncs then run side by side, so a transaction over many partitions waits about
/// one fsync, not one per partition. Waiting fetches are woken, since a marker moves the last
/// stable offset.
struct TransactionMarkerWriter: Sendable {
    let core: BrokerCore

    /// Appends the markers; returns the error of each partition that could not take one
    /// (UNKNOWN_TOPIC_OR_PARTITION for a partition that no longer exists, whose marker Kafka
    /// drops too; KAFKA_STORAGE_ERROR when the log failed). Partitions absent succeeded.
    func writeMarkers(
        producerId: Int64, producerEpoch: Int16, commit: Bool, coordinatorEpoch: Int32 = 0, partitions: [TopicPartition]
    ) async -> [TopicPartition: ErrorCode] {
        let core = self.core
        let appended: [(TopicPartition, PartitionLog, Int64)]
        var errors: [TopicPartition: ErrorCode]
        do {
            (appended, errors) = try await core.blocking.run {
                Self.append(
                    core: core, producerId: producerId, producerEpoch: producerEpoch, commit: commit, coordinatorEpoch: coordinatorEpoch,
                    partitions: partitions)
            }
        } catch {
            return Dictionary(uniqueKeysWithValues: partitions.map { ($0, .kafkaStorageError) })
        }
        let results = await core.blocking.waitUntilDurable(appended.map { (log: $0.1, offset: $0.2) })
        var failed: [TopicPartition] = []
        for ((partition, _, _), error) in zip(appended, results) {
            if let error {
                core.logger.error(
                    "could not make a transaction marker durable",
                    metadata: ["partition": "\(partition)", "producerId": "\(producerId)", "error": "\(error)"])
                failed.append(partition)
            } else {
                core.appendNotifier.notifyAppended(partition)
            }
        }
        for partition in failed { errors[partition] = .kafkaStorageError }
        return errors
    }

    /// Appends one marker per partition (not yet durable); the logs with the offset each must
    /// reach, and the partitions that failed. Blocks.
    private static func append(
        core: BrokerCore, producerId: Int64, producerEpoch: Int16, commit: Bool, coordinatorEpoch: Int32, partitions: [TopicPartition]
    ) -> ([(TopicPartition, PartitionLog, Int64)], [TopicPartition: ErrorCode]) {
        let marker = ControlRecord(type: commit ? .commit : .abort, coordinatorEpoch: coordinatorEpoch)
        var appended: [(TopicPartition, PartitionLog, Int64)] = []
        var errors: [TopicPartition: ErrorCode] = [:]
        for partition in partitions {
            guard let log = core.logs.log(for: partition) else {
                errors[partition] = .unknownTopicOrPartition
                continue
            }
            let batch = marker.buildBatch(producerId: producerId, producerEpoch: producerEpoch, timestamp: core.clock.nowMilliseconds())
            do throws(StorageError) {
                let info = try log.append(batch, durability: .written, leaderEpoch: PartitionLeadership.leaderEpoch)
                appended.append((partition, log, info.lastOffset + 1))
            } catch {
                core.logger.error(
                    "could not write a transaction marker",
                    metadata: ["partition": "\(partition)", "producerId": "\(producerId)", "error": "\(error)"])
                errors[partition] = .kafkaStorageError
            }
        }
        return (appended, errors)
    }
}
