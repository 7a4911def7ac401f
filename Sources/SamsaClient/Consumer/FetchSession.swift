import SamsaBinary
import SamsaProtocol

/// The consumer's side of an incremental fetch session (KIP-227) with one broker: the first
/// fetch names every partition and opens the session; later ones name only the partitions whose
/// fetch offset moved, and the partitions that left, and the broker answers only the partitions
/// with news. Partitions it leaves out have nothing new; their ends are remembered here.
///
/// Any doubt (an error, a lost answer, another Fetch version) starts over with a full fetch.
struct FetchSession: Sendable {
    /// The broker's id for the session; 0 before one is open.
    private(set) var id: Int32 = 0
    /// The epoch of the next request; 0 asks for a full fetch that opens a session.
    private(set) var epoch: Int32 = 0
    /// The Fetch version the session was opened with: a session names partitions by topic name
    /// (v7-12) or by topic id (v13+), so a change of version opens a new one.
    private var version: Int16?
    /// Each partition's fetch offset as the broker's session holds it.
    private var sent: [TopicPartition: Int64] = [:]
    /// The high watermark and last stable offset last heard for each partition.
    private(set) var ends: [TopicPartition: (highWatermark: Int64, lastStableOffset: Int64)] = [:]

    /// What to send: every partition for a full fetch, else the ones whose offset moved or that
    /// are new, and the ones to forget (in no order: the request groups them by topic).
    struct Plan {
        var isFull: Bool
        var sessionId: Int32
        var epoch: Int32
        var partitions: [TopicPartition]
        var forgotten: [TopicPartition]
    }

    /// The next request's session fields and partitions, for `positions` at `version`; a full
    /// fetch without a session when `enabled` is false or the version has no sessions (v0-6).
    mutating func plan(_ positions: [TopicPartition: Int64], version: Int16, enabled: Bool = true) -> Plan {
        guard version >= 7, enabled else {
            return Plan(isFull: true, sessionId: 0, epoch: -1, partitions: Array(positions.keys), forgotten: [])
        }
        if self.version != version { reset(keepingId: true) }
        self.version = version
        if epoch == 0 {
            return Plan(isFull: true, sessionId: id, epoch: 0, partitions: Array(positions.keys), forgotten: [])
        }
        let changed = positions.filter { sent[$0.key] != $0.value }.map(\.key)
        let forgotten = sent.keys.filter { positions[$0] == nil }
        return Plan(isFull: false, sessionId: id, epoch: epoch, partitions: changed, forgotten: forgotten)
    }

    /// Takes in the answer to a request made from `plan` with `positions`. False when the
    /// broker refused the session (unknown, or another epoch expected): the session is reset
    /// and the caller fetches again, in full.
    mutating func handle(_ response: FetchResponse, plan: Plan, positions: [TopicPartition: Int64], names: [KafkaUUID: String]) -> Bool {
        let code = ErrorCode(rawValue: response.errorCode)
        if code == .fetchSessionIdNotFound || code == .invalidFetchSessionEpoch {
            // An unknown session is gone; one that expected another epoch is closed by the next
            // full fetch, which names it.
            reset(keepingId: code == .invalidFetchSessionEpoch)
            return false
        }
        guard plan.epoch != -1, code == .noError else {
            if code != .noError { reset(keepingId: true) }
            return true
        }
        for topic in response.responses {
            let name = topic.topic.isEmpty ? names[topic.topicId] ?? "" : topic.topic
            for data in topic.partitions where data.errorCode == ErrorCode.noError.rawValue {
                ends[TopicPartition(name, data.partitionIndex)] = (data.highWatermark, data.lastStableOffset)
            }
        }
        if response.sessionId == 0 {
            // No session (the broker had no room, or closed it): the next fetch is full again.
            reset(keepingId: false)
            return true
        }
        if plan.isFull {
            id = response.sessionId
            sent = positions
        } else {
            for partition in plan.partitions { sent[partition] = positions[partition] }
            for partition in plan.forgotten { sent[partition] = nil }
        }
        epoch = epoch == Int32.max ? 1 : epoch + 1
        return true
    }

    /// Forgets the session: the next fetch is full and opens a new one. With `keepingId`, that
    /// fetch names the old session, so the broker closes it instead of keeping it until it is
    /// evicted (after a lost answer, an error, a change of version).
    mutating func reset(keepingId: Bool) {
        if !keepingId { id = 0 }
        epoch = 0
        sent = [:]
    }
}
