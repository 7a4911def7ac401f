import Logging
import SamsaProtocol
import SamsaStorage

/// What happened to one partition of a request: its value, or the Kafka error its entry in
/// the response carries.
///
/// Produce, Fetch, ListOffsets, OffsetForLeaderEpoch and DeleteRecords pass this from the
/// partition's lookup through the append or read to the response builder, where it becomes
/// the partition's entry; no partition error is thrown past that point, so one partition's
/// failure never fails the others.
typealias PartitionResult<Value> = Result<Value, PartitionError>

/// A partition's Kafka error: the code, the message for responses that carry one (Produce
/// v8+), and for Produce the records at fault.
///
/// Failures of the broker itself (I/O errors, a closed log) become one of these in
/// ``storage(_:during:partition:logger:)``, the one place they are mapped and logged.
struct PartitionError: Error, Sendable, CustomStringConvertible {
    /// One record of a produced batch refused, by its index in the batch.
    struct RecordError: Sendable {
        var batchIndex: Int32
        var message: String
    }

    var code: ErrorCode
    /// Sent where the response has an error message; nil sends null.
    var message: String?
    var recordErrors: [RecordError]

    init(_ code: ErrorCode, _ message: String? = nil, recordErrors: [RecordError] = []) {
        self.code = code
        self.message = message
        self.recordErrors = recordErrors
    }

    var description: String { message.map { "\(code): \($0)" } ?? "\(code)" }

    /// A partition that this broker does not have: `code` is UNKNOWN_TOPIC_OR_PARTITION, or
    /// UNKNOWN_TOPIC_ID where the request names topics by id.
    static func unknownPartition(_ code: ErrorCode = .unknownTopicOrPartition) -> PartitionError {
        PartitionError(code, code == .unknownTopicId ? KafkaMessage.unknownTopicId : KafkaMessage.unknownTopicOrPartition)
    }

    /// What a partition was doing when storage failed.
    enum Operation: String, Sendable {
        case append
        case read
        /// Waiting for an fsync (Produce with acks=-1).
        case flush
    }

    /// The Kafka error for `error`, thrown by storage while doing `operation` on `partition`.
    ///
    /// Errors that are the client's (a batch the log refuses: CORRUPT_MESSAGE; an offset out
    /// of range) or that a deleted topic causes (a closed log: UNKNOWN_TOPIC_OR_PARTITION) are
    /// answered as such; anything else is the broker's own failure, logged here and answered
    /// with KAFKA_STORAGE_ERROR so the client retries.
    static func storage(
        _ error: any Error, during operation: Operation, partition: TopicPartition, logger: Logger
    ) -> PartitionError {
        if let error = error as? StorageError {
            switch operation {
            case .append where error.isInvalidInput:
                return PartitionError(.corruptMessage, "Record is corrupt in topic partition \(partition): \(error)")
            case .read where error.isOffsetOutOfRange:
                return PartitionError(.offsetOutOfRange)
            case .append where error.isClosed, .read where error.isClosed:
                return .unknownPartition()
            default:
                break
            }
        }
        logger.error("\(operation.rawValue) failed", metadata: ["partition": "\(partition)", "error": "\(error)"])
        switch operation {
        case .append: return PartitionError(.kafkaStorageError, "The log could not be written: \(error)")
        case .read: return PartitionError(.kafkaStorageError, "The log could not be read: \(error)")
        case .flush: return PartitionError(.kafkaStorageError, "The data could not be made durable: \(error)")
        }
    }
}

extension BrokerCore {
    /// The log of partition `partition` of `topic`, or UNKNOWN_TOPIC_OR_PARTITION (`missing`
    /// where the request names topics by id) for an unknown topic or an index out of range.
    func servingLog(
        topic: TopicMetadata?, partition: Int32, missing: ErrorCode = .unknownTopicOrPartition
    ) -> PartitionResult<PartitionLog> {
        guard let topic, partition >= 0, partition < topic.partitionCount,
            let log = logs.log(for: TopicPartition(topic: topic.name, partition: partition))
        else {
            return .failure(.unknownPartition(missing))
        }
        return .success(log)
    }

    /// ``servingLog(topic:partition:missing:)``, then the request's CurrentLeaderEpoch checked
    /// (-1 skips the check), in the order ListOffsets and OffsetForLeaderEpoch check them.
    func servingLog(topic: TopicMetadata?, partition: Int32, currentLeaderEpoch: Int32) -> PartitionResult<PartitionLog> {
        servingLog(topic: topic, partition: partition).flatMap { log in
            PartitionLeadership.checkCurrentLeaderEpoch(currentLeaderEpoch).map { log }
        }
    }
}
