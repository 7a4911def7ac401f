import Logging
import SamsaProtocol
import SamsaStorage

/// ListOffsets (key 2), versions 0-11.
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
/// v0 answers with a list of old-style offsets, at most MaxNumOffsets of them, as Kafka 3.x
/// did (`legacyFetchOffsetsBefore`): for latest, the last visible offset and then the base
/// offsets of the segments below it, newest first; for earliest, the log start offset; for a
/// time, the offset found as above (Kafka used segment file modification times there).
struct ListOffsetsHandler: RequestHandler {
    typealias Request = ListOffsetsRequest

    let core: BrokerCore

    /// The first version that knows each special timestamp (Kafka's `timestampMinSupportedVersion`).
    static let specialTimestampVersions: [Int64: Int16] = [-1: 0, -2: 0, -3: 7, -4: 8, -5: 9, -6: 11]

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
        let undescribable = Set(request.topics.map(\.name).filter { !context.allows(.describe, .topic, $0) })
        return try await core.blocking.run {
            var response = ListOffsetsResponse()
            for topic in request.topics {
                var topicResponse = ListOffsetsResponse.ListOffsetsTopicResponse()
                topicResponse.name = topic.name
                let metadata = core.topics.image.topic(named: topic.name)
                for partition in topic.partitions {
                    let key = TopicPartition(topic: topic.name, partition: partition.partitionIndex)
                    let outcome: PartitionResult<OffsetSearch.Found?> =
                        undescribable.contains(topic.name)
                        ? .failure(PartitionError(.topicAuthorizationFailed))
                        : duplicates.contains(key)
                            ? .failure(PartitionError(.invalidRequest))
                            : Self.lookUp(partition, of: key, topic: metadata, request: request, version: version, core: core)
                    var answer = Self.answer(partition.partitionIndex, outcome, version: version)
                    if version == 0, case .success(let found?) = outcome {
                        answer.oldStyleOffsets = Self.oldStyleOffsets(
                            found, timestamp: partition.timestamp, maxCount: partition.maxNumOffsets, key: key, core: core)
                    }
                    topicResponse.partitions.append(answer)
                }
                response.topics.append(topicResponse)
            }
            return response
        }
    }

    /// What one partition's offset lookup found: nil when no offset qualifies. Blocking.
    private static func lookUp(
        _ partition: ListOffsetsRequest.ListOffsetsPartition, of key: TopicPartition, topic: TopicMetadata?,
        request: ListOffsetsRequest, version: Int16, core: BrokerCore
    ) -> PartitionResult<OffsetSearch.Found?> {
        let timestamp = partition.timestamp
        if timestamp < 0, version < specialTimestampVersions[timestamp] ?? Int16.max {
            return .failure(PartitionError(.unsupportedVersion))
        }
        let currentLeaderEpoch = version >= 4 ? partition.currentLeaderEpoch : -1
        return core.servingLog(topic: topic, partition: key.partition, currentLeaderEpoch: currentLeaderEpoch).flatMap { log in
            do {
                return .success(try search(log, for: timestamp, request: request))
            } catch {
                // A storage failure, or a batch that does not decode: the log is damaged.
                return .failure(.storage(error, during: .read, partition: key, logger: core.logger))
            }
        }
    }

    /// The offset `timestamp` asks for in `log`, or nil when none qualifies.
    private static func search(_ log: PartitionLog, for timestamp: Int64, request: ListOffsetsRequest) throws -> OffsetSearch.Found? {
        // Consumers see up to the high watermark or the last stable offset; replicas everything.
        let lastVisible: Int64
        if request.replicaId == -1 {
            lastVisible = request.isolationLevel == 1 ? log.lastStableOffset : log.highWatermark
        } else {
            lastVisible = log.logEndOffset
        }
        let found: OffsetSearch.Found?
        switch timestamp {
        case -1:
            found = OffsetSearch.Found(timestamp: -1, offset: lastVisible, leaderEpoch: PartitionLeadership.leaderEpoch)
        case -2, -4:
            return OffsetSearch.Found(timestamp: -1, offset: log.logStartOffset, leaderEpoch: PartitionLeadership.leaderEpoch)
        case -5, -6:
            found = OffsetSearch.Found(timestamp: -1, offset: -1, leaderEpoch: -1)
        case -3:
            found = try OffsetSearch.maxTimestampRecord(in: log)
        default:
            found = try OffsetSearch.firstRecord(in: log, atOrAfter: timestamp)
        }
        // Kafka drops a result the reader may not see yet (-1 latest is the bound itself).
        guard let found, timestamp == -1 || found.offset < lastVisible else { return nil }
        return found
    }

    /// v0's list: `found` first, then for latest the segment base offsets below it, newest
    /// first; at most `maxCount` entries (none when it is not positive).
    private static func oldStyleOffsets(
        _ found: OffsetSearch.Found, timestamp: Int64, maxCount: Int32, key: TopicPartition, core: BrokerCore
    ) -> [Int64] {
        var offsets = [found.offset]
        if timestamp == -1, let log = core.logs.log(for: key) {
            offsets += log.segmentBaseOffsets.filter { $0 < found.offset }.sorted(by: >)
        }
        return Array(offsets.prefix(Int(max(0, maxCount))))
    }

    /// A partition's entry in the response; offset and timestamp stay -1 when nothing was
    /// found or on error.
    private static func answer(
        _ partition: Int32, _ outcome: PartitionResult<OffsetSearch.Found?>, version: Int16
    ) -> ListOffsetsResponse.ListOffsetsPartitionResponse {
        var answer = ListOffsetsResponse.ListOffsetsPartitionResponse()
        answer.partitionIndex = partition
        switch outcome {
        case .success(let found):
            answer.errorCode = ErrorCode.noError.rawValue
            guard let found else { return answer }
            answer.timestamp = found.timestamp
            answer.offset = found.offset
            answer.leaderEpoch = version >= 4 ? found.leaderEpoch : -1
        case .failure(let error):
            answer.errorCode = error.code.rawValue
        }
        return answer
    }
}
