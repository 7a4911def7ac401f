import SamsaProtocol
import SamsaStorage

/// DeleteRecords (key 21), versions 0-2.
///
/// Moves each partition's log start offset up to the requested offset (-1: the high
/// watermark), deleting whole segments below it, and answers with the new low watermark
/// (the log start offset), durable before the answer. Per-partition errors as Kafka:
/// UNKNOWN_TOPIC_OR_PARTITION, OFFSET_OUT_OF_RANGE for an offset beyond the high watermark
/// or below -1, POLICY_VIOLATION when the topic's cleanup.policy does not include delete.
/// A failed partition reports low watermark -1. There is one replica, so the answer does
/// not wait for followers and TimeoutMs is not needed.
struct DeleteRecordsHandler: RequestHandler {
    typealias Request = DeleteRecordsRequest

    let core: BrokerCore

    func handle(_ request: DeleteRecordsRequest, context: RequestContext) async throws -> DeleteRecordsResponse? {
        let core = self.core
        let topics = request.topics
        var response = DeleteRecordsResponse()
        response.topics = try await core.blocking.run {
            try topics.map { topic in
                var result = DeleteRecordsResponse.DeleteRecordsTopicResult()
                result.name = topic.name
                result.partitions = try topic.partitions.map { try Self.delete(topic.name, $0, core: core) }
                return result
            }
        }
        return response
    }

    private static func delete(
        _ topic: String, _ request: DeleteRecordsRequest.DeleteRecordsPartition, core: BrokerCore
    ) throws -> DeleteRecordsResponse.DeleteRecordsPartitionResult {
        var result = DeleteRecordsResponse.DeleteRecordsPartitionResult()
        result.partitionIndex = request.partitionIndex
        result.lowWatermark = -1
        guard let metadata = core.topics.image.topic(named: topic), request.partitionIndex >= 0,
            request.partitionIndex < metadata.partitionCount,
            let log = core.logs.log(for: TopicPartition(topic: topic, partition: request.partitionIndex))
        else {
            result.errorCode = ErrorCode.unknownTopicOrPartition.rawValue
            return result
        }
        guard log.config.cleanupPolicy.contains(.delete) else {
            result.errorCode = ErrorCode.policyViolation.rawValue
            return result
        }
        let offset = request.offset == -1 ? log.highWatermark : request.offset
        guard offset >= 0, offset <= log.highWatermark else {
            result.errorCode = ErrorCode.offsetOutOfRange.rawValue
            return result
        }
        do throws(StorageError) {
            result.lowWatermark = try log.deleteRecords(before: offset)
            result.errorCode = ErrorCode.noError.rawValue
        } catch {
            guard error.isOffsetOutOfRange else { throw error }
            // The high watermark moved back (truncation) since it was read.
            result.errorCode = ErrorCode.offsetOutOfRange.rawValue
        }
        return result
    }
}
