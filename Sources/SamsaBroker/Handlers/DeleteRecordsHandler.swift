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
        let deletable = Set(topics.map(\.name).filter { context.allows(.delete, .topic, $0) })
        response.topics = try await core.blocking.run {
            try topics.map { topic in
                var result = DeleteRecordsResponse.DeleteRecordsTopicResult()
                result.name = topic.name
                guard deletable.contains(topic.name) else {
                    result.partitions = topic.partitions.map { partition in
                        var refused = DeleteRecordsResponse.DeleteRecordsPartitionResult()
                        refused.partitionIndex = partition.partitionIndex
                        refused.errorCode = ErrorCode.topicAuthorizationFailed.rawValue
                        refused.lowWatermark = -1
                        return refused
                    }
                    return result
                }
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
        switch try lowWatermark(deleting: request, of: core.topics.image.topic(named: topic), core: core) {
        case .success(let lowWatermark):
            result.errorCode = ErrorCode.noError.rawValue
            result.lowWatermark = lowWatermark
        case .failure(let error):
            result.errorCode = error.code.rawValue
            result.lowWatermark = -1
        }
        return result
    }

    /// Deletes the records `request` asks to, returning the partition's new log start offset.
    private static func lowWatermark(
        deleting request: DeleteRecordsRequest.DeleteRecordsPartition, of topic: TopicMetadata?, core: BrokerCore
    ) throws -> PartitionResult<Int64> {
        let log: PartitionLog
        switch core.servingLog(topic: topic, partition: request.partitionIndex) {
        case .failure(let error): return .failure(error)
        case .success(let found): log = found
        }
        guard log.config.cleanupPolicy.contains(.delete) else {
            return .failure(PartitionError(.policyViolation))
        }
        let offset = request.offset == -1 ? log.highWatermark : request.offset
        guard offset >= 0, offset <= log.highWatermark else {
            return .failure(PartitionError(.offsetOutOfRange))
        }
        do throws(StorageError) {
            return .success(try log.deleteRecords(before: offset))
        } catch {
            guard error.isOffsetOutOfRange else { throw error }
            // The high watermark moved back (truncation) since it was read.
            return .failure(PartitionError(.offsetOutOfRange))
        }
    }
}
