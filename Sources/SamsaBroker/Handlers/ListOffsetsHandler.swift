import Logging
import SamsaProtocol
import SamsaStorage

/// ListOffsets (key 2), versions 1-11.
///
/// Per partition, by Timestamp:
/// - -1 latest: the high watermark, or the last stable offset for read_committed (IsolationLevel 1);
/// - -2 earliest and -4 earliest-local (v8+): the log start offset (there is no tiered storage);
/// - -3 max timestamp (v7+): the offset of the record with the largest timestamp (KIP-734);
/// - -5 latest-tiered (v9+) and -6 earliest-pending-upload (v11): offset -1, as Kafka answers
///   for a topic without tiered storage;
/// - a time: the first record whose timestamp is at least that time, or offset -1 when none.
/// Results at or past the last offset the reader may see are answered as not found (-1), as
/// Kafka does. Latest and earliest carry leader epoch 0; found records carry their batch's epoch.
/// An unknown special timestamp, or one too new for the request version, is UNSUPPORTED_VERSION;
/// a partition listed twice is INVALID_REQUEST; a CurrentLeaderEpoch other than 0 is fenced.
/// v0 (several old-style offsets) is not implemented.
struct ListOffsetsHandler: RequestHandler {
    typealias Request = ListOffsetsRequest

    let core: BrokerCore

    /// The first version that knows each special timestamp (Kafka's `timestampMinSupportedVersion`).
    static let specialTimestampVersions: [Int64: Int16] = [-1: 1, -2: 1, -3: 7, -4: 8, -5: 9, -6: 11]

    func handle(_ request: ListOffsetsRequest, context: RequestContext) async throws -> ListOffsetsResponse? {
        let version = context.apiVersion
        let core = self.core
        var seen: [TopicPartition: Int] = [:]
        for topic in request.topics {
            for partition in topic.partitions {
                seen[TopicPartition(topic: topic.name, partition: partition.partitionIndex), default: 0] += 1
            }
        }
        let duplicates = Set(seen.filter { $0.value > 1 }.keys)
        return try await core.blocking.run {
            var response = ListOffsetsResponse()
            for topic in request.topics {
                var topicResponse = ListOffsetsResponse.ListOffsetsTopicResponse()
                topicResponse.name = topic.name
                let metadata = core.topics.image.topic(named: topic.name)
                for partition in topic.partitions {
                    let key = TopicPartition(topic: topic.name, partition: partition.partitionIndex)
                    var answer: ListOffsetsResponse.ListOffsetsPartitionResponse
                    if duplicates.contains(key) {
                        answer = Self.failed(partition.partitionIndex, .invalidRequest)
                    } else {
                        answer = Self.lookUp(partition, topic: metadata, request: request, version: version, core: core)
                    }
                    topicResponse.partitions.append(answer)
                }
                response.topics.append(topicResponse)
            }
            return response
        }
    }

    /// One partition's answer. Blocking.
    private static func lookUp(
        _ partition: ListOffsetsRequest.ListOffsetsPartition, topic: TopicMetadata?, request: ListOffsetsRequest,
        version: Int16, core: BrokerCore
    ) -> ListOffsetsResponse.ListOffsetsPartitionResponse {
        let index = partition.partitionIndex
        let timestamp = partition.timestamp
        if timestamp < 0, version < specialTimestampVersions[timestamp] ?? Int16.max {
            return failed(index, .unsupportedVersion)
        }
        let log: PartitionLog
        switch core.servingLog(topic: topic, partition: index) {
        case .failure(let error): return failed(index, error.code)
        case .success(let found): log = found
        }
        if version >= 4, let error = PartitionLeadership.checkCurrentLeaderEpoch(partition.currentLeaderEpoch) {
            return failed(index, error)
        }
        // Consumers see up to the high watermark or the last stable offset; replicas everything.
        let lastVisible: Int64
        if request.replicaId == -1 {
            lastVisible = request.isolationLevel == 1 ? log.lastStableOffset : log.highWatermark
        } else {
            lastVisible = log.logEndOffset
        }
        var answer = ListOffsetsResponse.ListOffsetsPartitionResponse()
        answer.partitionIndex = index
        answer.errorCode = ErrorCode.noError.rawValue
        do {
            let found: OffsetSearch.Found?
            switch timestamp {
            case -1:
                found = OffsetSearch.Found(timestamp: -1, offset: lastVisible, leaderEpoch: PartitionLeadership.leaderEpoch)
            case -2, -4:
                return answered(index, OffsetSearch.Found(timestamp: -1, offset: log.logStartOffset,
                                                          leaderEpoch: PartitionLeadership.leaderEpoch), version: version)
            case -5, -6:
                found = OffsetSearch.Found(timestamp: -1, offset: -1, leaderEpoch: -1)
            case -3:
                found = try OffsetSearch.maxTimestampRecord(in: log)
            default:
                found = try OffsetSearch.firstRecord(in: log, atOrAfter: timestamp)
            }
            // Kafka drops a result the reader may not see yet (-1 latest is the bound itself).
            guard let found, timestamp == -1 || found.offset < lastVisible else { return answer }
            return answered(index, found, version: version)
        } catch let error as StorageError {
            if error.fetchErrorCode == .kafkaStorageError {
                core.logger.error("ListOffsets on \(log.directory) failed: \(error)")
            }
            return failed(index, error.fetchErrorCode)
        } catch {
            // A batch that does not decode: the log is damaged.
            core.logger.error("ListOffsets on \(log.directory) failed: \(error)")
            return failed(index, .kafkaStorageError)
        }
    }

    private static func answered(
        _ partition: Int32, _ found: OffsetSearch.Found, version: Int16
    ) -> ListOffsetsResponse.ListOffsetsPartitionResponse {
        var answer = ListOffsetsResponse.ListOffsetsPartitionResponse()
        answer.partitionIndex = partition
        answer.errorCode = ErrorCode.noError.rawValue
        answer.timestamp = found.timestamp
        answer.offset = found.offset
        answer.leaderEpoch = version >= 4 ? found.leaderEpoch : -1
        return answer
    }

    private static func failed(_ partition: Int32, _ error: ErrorCode) -> ListOffsetsResponse.ListOffsetsPartitionResponse {
        var answer = ListOffsetsResponse.ListOffsetsPartitionResponse()
        answer.partitionIndex = partition
        answer.errorCode = error.rawValue
        answer.timestamp = -1
        answer.offset = -1
        return answer
    }
}
