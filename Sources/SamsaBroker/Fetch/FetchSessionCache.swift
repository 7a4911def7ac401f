import NIOConcurrencyHelpers
import NIOCore
import SamsaBinary
import SamsaProtocol
import SamsaStorage

/// Incremental fetch sessions (KIP-227): a consumer fetching many partitions names them once,
/// then sends only what changed (new fetch offsets, partitions added or forgotten), and each
/// answer carries only the partitions with news: records, an error, or a high watermark, last
/// stable offset or log start offset the consumer has not been told yet.
///
/// A request picks its session with SessionId and SessionEpoch: epoch 0 opens a new session
/// (closing the one it names, if any), -1 fetches without a session (closing the one named),
/// and any other epoch continues the named session, which must expect exactly that epoch.
/// Sessions live in this broker's memory only; at most ``capacity`` exist. When all are taken,
/// the least recently used is replaced only once it has been idle for ``evictionIdleMilliseconds``
/// (Kafka's `min.incremental.fetch.session.eviction.ms`); otherwise the new consumer is answered
/// without a session (SessionId 0) and goes on with full fetches.
final class FetchSessionCache: Sendable {
    /// One partition of a session, as a client names it: by topic name up to Fetch v12, by topic
    /// id from v13.
    struct PartitionKey: Hashable, Sendable {
        var topic: String
        var topicId: KafkaUUID
        var partition: Int32
    }

    /// What a session knows of one partition: the client's fetch state, and what the last
    /// answer that listed the partition told the client.
    struct CachedPartition: Sendable {
        var fetch: FetchRequest.FetchPartition
        /// The high watermark, last stable offset and log start offset last sent; nil before
        /// any answer listed the partition.
        var sent: (highWatermark: Int64, lastStableOffset: Int64, logStartOffset: Int64)?

        /// True when `data` tells the client something new: records, an error, or offsets.
        func hasNews(_ data: FetchResponse.PartitionData, hasRecords: Bool) -> Bool {
            guard !hasRecords, data.errorCode == ErrorCode.noError.rawValue, let sent else { return true }
            return sent != (data.highWatermark, data.lastStableOffset, data.logStartOffset)
        }

        mutating func noteSent(_ data: FetchResponse.PartitionData) {
            sent = (data.highWatermark, data.lastStableOffset, data.logStartOffset)
        }
    }

    private struct Session {
        var nextEpoch: Int32
        var order: [PartitionKey]
        var partitions: [PartitionKey: CachedPartition]
        var lastUsed: Int64

        /// Adds the partitions `topics` name, in order, or updates their fetch state when the
        /// session has them already.
        mutating func add(_ topics: [FetchRequest.FetchTopic]) {
            for topic in topics {
                for partition in topic.partitions {
                    let key = PartitionKey(topic: topic.topic, topicId: topic.topicId, partition: partition.partition)
                    if let index = partitions.index(forKey: key) {
                        partitions.values[index].fetch = partition
                    } else {
                        order.append(key)
                        partitions[key] = CachedPartition(fetch: partition)
                    }
                }
            }
        }
    }

    /// What a request asks of its session.
    enum Lookup {
        /// Fetch without a session (epoch -1, or Fetch v0-6).
        case sessionless
        /// Fetch everything named and open a new session for it (epoch 0).
        case newSession
        /// Fetch every partition of the session, after applying the request's changes; the
        /// request's topics are replaced by the session's.
        case incremental(id: Int32, topics: [FetchRequest.FetchTopic])
        /// Answer with this error and nothing else.
        case failed(ErrorCode)
    }

    let capacity: Int
    let evictionIdleMilliseconds: Int64
    private let random: any RandomSource
    private let sessions = NIOLockedValueBox<[Int32: Session]>([:])

    init(capacity: Int = 1_000, evictionIdleMilliseconds: Int64 = 120_000, random: any RandomSource) {
        self.capacity = capacity
        self.evictionIdleMilliseconds = evictionIdleMilliseconds
        self.random = random
    }

    /// The number of open sessions.
    var count: Int { sessions.withLockedValue { $0.count } }

    /// Resolves a request's session fields (Fetch v7+), closing a session it ends or replaces,
    /// and for an incremental fetch applies its changes and moves the session to its next epoch.
    func lookup(_ request: FetchRequest, now: Int64) -> Lookup {
        let id = request.sessionId
        let epoch = request.sessionEpoch
        if epoch == -1 || epoch == 0 {
            if id != 0 { sessions.withLockedValue { _ = $0.removeValue(forKey: id) } }
            return epoch == 0 ? .newSession : .sessionless
        }
        return sessions.withLockedValue { sessions -> Lookup in
            guard let index = sessions.index(forKey: id) else { return .failed(.fetchSessionIdNotFound) }
            guard sessions.values[index].nextEpoch == epoch else { return .failed(.invalidFetchSessionEpoch) }
            // Taken out of the table while it changes, so its partitions are not copied.
            var session = sessions.remove(at: index).value
            session.nextEpoch = Self.epoch(after: epoch)
            session.lastUsed = now
            var forgotten = Set<PartitionKey>()
            for topic in request.forgottenTopicsData {
                for partition in topic.partitions {
                    let key = PartitionKey(topic: topic.topic, topicId: topic.topicId, partition: partition)
                    if session.partitions.removeValue(forKey: key) != nil { forgotten.insert(key) }
                }
            }
            if !forgotten.isEmpty { session.order.removeAll { forgotten.contains($0) } }
            session.add(request.topics)
            sessions[id] = session
            return .incremental(id: id, topics: Self.topics(session))
        }
    }

    /// Opens a session for the partitions of `request` as `response` answered them, and returns
    /// its id; 0 when every slot is taken by a session used recently.
    func open(_ request: FetchRequest, answeredBy response: FetchResponse, now: Int64) -> Int32 {
        var session = Session(nextEpoch: 1, order: [], partitions: [:], lastUsed: now)
        session.add(request.topics)
        Self.record(response, in: &session)
        return sessions.withLockedValue { sessions -> Int32 in
            if sessions.count >= capacity {
                guard let (oldest, used) = sessions.min(by: { $0.value.lastUsed < $1.value.lastUsed }).map({ ($0.key, $0.value.lastUsed) }),
                    now - used >= evictionIdleMilliseconds
                else { return 0 }
                sessions.removeValue(forKey: oldest)
            }
            var id: Int32
            repeat { id = Int32(truncatingIfNeeded: random.next() & 0x7fff_ffff) } while id == 0 || sessions[id] != nil
            sessions[id] = session
            return id
        }
    }

    /// Keeps in `pass` only the partitions the client has news of (records, an error, offsets
    /// it has not been told), and notes what they tell it. The pass's files stay aligned.
    func keepNews(of pass: inout FetchPass, session id: Int32) {
        sessions.withLockedValue { sessions in
            // Taken out of the table while it changes, so its partitions are not copied.
            guard var session = sessions.removeValue(forKey: id) else { return }
            var topics: [FetchResponse.FetchableTopicResponse] = []
            var files: [[FileRange?]] = []
            for (topicIndex, topic) in pass.response.responses.enumerated() {
                var kept = topic
                kept.partitions = []
                var keptFiles: [FileRange?] = []
                for (partitionIndex, data) in topic.partitions.enumerated() {
                    let file = pass.files[topicIndex][partitionIndex]
                    let key = PartitionKey(topic: topic.topic, topicId: topic.topicId, partition: data.partitionIndex)
                    let hasRecords = (file?.length ?? 0) > 0 || (data.records?.readableBytes ?? 0) > 0
                    guard let index = session.partitions.index(forKey: key),
                        session.partitions.values[index].hasNews(data, hasRecords: hasRecords)
                    else { continue }
                    session.partitions.values[index].noteSent(data)
                    kept.partitions.append(data)
                    keptFiles.append(file)
                }
                if !kept.partitions.isEmpty {
                    topics.append(kept)
                    files.append(keptFiles)
                }
            }
            pass.response.responses = topics
            pass.files = files
            sessions[id] = session
        }
    }

    /// The session's partitions as the topics of a full fetch, in the order they joined.
    private static func topics(_ session: Session) -> [FetchRequest.FetchTopic] {
        var topics: [FetchRequest.FetchTopic] = []
        for key in session.order {
            guard let cached = session.partitions[key] else { continue }
            if let last = topics.last, last.topic == key.topic, last.topicId == key.topicId {
                topics[topics.count - 1].partitions.append(cached.fetch)
            } else {
                var topic = FetchRequest.FetchTopic()
                topic.topic = key.topic
                topic.topicId = key.topicId
                topic.partitions = [cached.fetch]
                topics.append(topic)
            }
        }
        return topics
    }

    /// Notes what `response` told the client of each of the session's partitions.
    private static func record(_ response: FetchResponse, in session: inout Session) {
        for topic in response.responses {
            for data in topic.partitions {
                let key = PartitionKey(topic: topic.topic, topicId: topic.topicId, partition: data.partitionIndex)
                session.partitions[key]?.noteSent(data)
            }
        }
    }

    /// The epoch after `epoch`: 1 follows `Int32.max`, as in Kafka.
    static func epoch(after epoch: Int32) -> Int32 {
        epoch == Int32.max ? 1 : epoch + 1
    }
}
