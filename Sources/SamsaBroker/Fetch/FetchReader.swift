import Logging
import NIOCore
import SamsaBinary
import SamsaProtocol
import SamsaStorage

/// What one read of every partition of a fetch found.
struct FetchPass: Sendable {
    /// The response; `records` is nil wherever ``files`` holds the bytes instead.
    var response: FetchResponse
    /// For each topic and partition of `response`, the log bytes to send, if any.
    var files: [[FileRange?]]
    /// The record bytes found in all partitions.
    var byteCount: Int
    /// True when a partition has an error; Kafka then answers at once instead of waiting.
    var hasError: Bool
    /// The partitions that were read, to wait on for appends.
    var partitions: [TopicPartition]
}

/// Reads the partitions of a fetch request from their logs, the way Kafka's
/// `ReplicaManager.readFromLog` does.
///
/// Partitions are read in request order. Each gets at most its PartitionMaxBytes and what is
/// left of the response's byte budget; until one partition returned data, the first batch is
/// returned whole even when larger than both limits (KIP-74), so a consumer always makes
/// progress. The bytes are whole batches from the one holding the fetch offset (the client drops
/// the records before it); only the last one may be cut by the limit. Nothing is copied: the
/// pass holds file ranges, which the response sends with `sendfile`.
struct FetchReader: Sendable {
    let core: BrokerCore
    let request: FetchRequest
    let version: Int16
    /// The most record bytes the response may hold (the request's MaxBytes, capped).
    let responseMaxBytes: Int
    /// Topics the principal may not read: their partitions get TOPIC_AUTHORIZATION_FAILED.
    var deniedTopics: Set<String> = []

    /// How far a read may go: followers read to the log end, read_committed consumers to the
    /// last stable offset, others to the high watermark.
    var isolation: FetchIsolation {
        let replicaID = version >= 15 ? request.replicaState.replicaId : request.replicaId
        if replicaID >= 0 { return .logEnd }
        return request.isolationLevel == 1 ? .committed : .highWatermark
    }

    /// Reads every requested partition once. Blocking: call on the blocking pool.
    func read() -> FetchPass {
        // Only a read that may not wait for the disk gives up.
        read(cachedOnly: false)!
    }

    /// Reads every requested partition once if no read has to wait for the disk; nil as soon
    /// as one would (its batch headers are not in the page cache). Does not block: an event
    /// loop calls it, and hands the fetch to the blocking pool only when it returns nil.
    func readIfCached() -> FetchPass? {
        read(cachedOnly: true)
    }

    private func read(cachedOnly: Bool) -> FetchPass? {
        let image = core.topics.image
        let isolation = self.isolation
        var pass = FetchPass(response: FetchResponse(), files: [], byteCount: 0, hasError: false, partitions: [])
        pass.response.responses.reserveCapacity(request.topics.count)
        var remaining = responseMaxBytes
        var minOneBatch = true
        for wanted in request.topics {
            var topicResponse = FetchResponse.FetchableTopicResponse()
            topicResponse.topic = wanted.topic
            topicResponse.topicId = wanted.topicId
            var topicFiles: [FileRange?] = []
            topicFiles.reserveCapacity(wanted.partitions.count)
            let topic = version >= 13 ? image.topic(id: wanted.topicId) : image.topic(named: wanted.topic)
            let denied = deniedTopics.contains(topic?.name ?? wanted.topic)
            for partition in wanted.partitions {
                let outcome: PartitionResult<FetchDataInfo>
                switch denied ? .failure(PartitionError(.topicAuthorizationFailed)) : servingLog(partition, of: topic) {
                case .failure(let error):
                    outcome = .failure(error)
                case .success(let log):
                    let key = TopicPartition(topic: topic!.name, partition: partition.partition)
                    pass.partitions.append(key)
                    let limit = min(max(0, Int(partition.partitionMaxBytes)), remaining)
                    guard
                        let read = read(
                            partition, of: key, from: log, maxBytes: limit, minOneBatch: minOneBatch, isolation: isolation,
                            cachedOnly: cachedOnly)
                    else { return nil }
                    outcome = read
                }
                let (data, file) = Self.partitionData(partition.partition, outcome)
                let length = file?.length ?? 0
                if length > 0 { minOneBatch = false }
                remaining = max(0, remaining - length)
                pass.byteCount += length
                if data.errorCode != ErrorCode.noError.rawValue { pass.hasError = true }
                topicResponse.partitions.append(data)
                topicFiles.append(file)
            }
            pass.response.responses.append(topicResponse)
            pass.files.append(topicFiles)
        }
        return pass
    }

    /// The partition's log, checked as Kafka checks a fetch: the topic id (v13+), then the
    /// CurrentLeaderEpoch, then the partition itself.
    private func servingLog(_ partition: FetchRequest.FetchPartition, of topic: TopicMetadata?) -> PartitionResult<PartitionLog> {
        if version >= 13 && topic == nil {
            return .failure(.unknownPartition(.unknownTopicId))
        }
        return PartitionLeadership.checkCurrentLeaderEpoch(partition.currentLeaderEpoch).flatMap {
            core.servingLog(topic: topic, partition: partition.partition)
        }
    }

    /// The partition's read; nil when `cachedOnly` and it would wait for the disk.
    private func read(
        _ partition: FetchRequest.FetchPartition, of key: TopicPartition, from log: PartitionLog, maxBytes: Int, minOneBatch: Bool,
        isolation: FetchIsolation, cachedOnly: Bool
    ) -> PartitionResult<FetchDataInfo>? {
        do {
            let offset = partition.fetchOffset
            let read =
                cachedOnly
                ? try log.readIfCached(from: offset, maxBytes: maxBytes, isolation: isolation, minOneBatch: minOneBatch)
                : try log.read(from: offset, maxBytes: maxBytes, isolation: isolation, minOneBatch: minOneBatch)
            return read.map { .success($0) }
        } catch {
            return .failure(.storage(error, during: .read, partition: key, logger: core.logger))
        }
    }

    /// A partition's entry in the response, and the file range its records are sent from
    /// (nil when it has none or failed).
    static func partitionData(_ partition: Int32, _ outcome: PartitionResult<FetchDataInfo>) -> (FetchResponse.PartitionData, FileRange?) {
        let info: FetchDataInfo
        switch outcome {
        case .failure(let error): return (failed(partition, error.code), nil)
        case .success(let read): info = read
        }
        var data = FetchResponse.PartitionData()
        data.partitionIndex = partition
        data.errorCode = ErrorCode.noError.rawValue
        data.highWatermark = info.highWatermark
        data.lastStableOffset = info.lastStableOffset
        data.logStartOffset = info.logStartOffset
        data.preferredReadReplica = -1
        // Kafka sends a (possibly empty) list to read_committed consumers and null to the others.
        data.abortedTransactions = info.abortedTransactions.map { entries in
            entries.map { entry in
                var aborted = FetchResponse.AbortedTransaction()
                aborted.producerId = entry.producerId
                aborted.firstOffset = entry.firstOffset
                return aborted
            }
        }
        if let range = info.records, range.length > 0 {
            data.records = nil
            return (data, range)
        }
        data.records = ByteBuffer()
        return (data, nil)
    }

    /// A partition answered with `error`: no offsets (-1) and empty records, as Kafka answers.
    static func failed(_ partition: Int32, _ error: ErrorCode) -> FetchResponse.PartitionData {
        var data = FetchResponse.PartitionData()
        data.partitionIndex = partition
        data.errorCode = error.rawValue
        data.highWatermark = -1
        data.lastStableOffset = -1
        data.logStartOffset = -1
        data.abortedTransactions = nil
        data.records = ByteBuffer()
        return data
    }
}
