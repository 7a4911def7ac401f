import NIOCore
import SamsaCoordination
import SamsaProtocol

/// Drives a ``ClassicGroup`` the way a coordinator does and records what it was asked to do:
/// answers to waiting JoinGroups and SyncGroups, and group writes.
struct ClassicGroupHarness {
    var group: ClassicGroup
    var now: Int64 = 1_000_000
    var joins: [String: ClassicJoinResult] = [:]
    var syncs: [String: ClassicSyncResult] = [:]
    var stores: [(snapshot: ClassicGroupSnapshot, pending: [String: ByteBuffer]?)] = []
    private var nextId = 0

    init(initialDelayMs: Int64 = 0, minSessionTimeoutMs: Int32 = 10) {
        let settings = ClassicGroupSettings(initialRebalanceDelayMs: initialDelayMs, minSessionTimeoutMs: minSessionTimeoutMs)
        group = ClassicGroup(groupId: "g", settings: settings, now: 1_000_000)
    }

    static func subscription(_ topics: [String]) -> ByteBuffer {
        ConsumerProtocolSubscription.encode(topics: topics)
    }

    static func request(
        _ memberId: String = "", instance: String? = nil, protocols: [String] = ["range"], type: String = "consumer",
        session: Int32 = 1_000, rebalance: Int32 = 2_000, metadata: [String] = ["t"], v4: Bool = true
    ) -> ClassicJoinRequest {
        ClassicJoinRequest(
            memberId: memberId, groupInstanceId: instance, clientId: "client", clientHost: "/127.0.0.1",
            sessionTimeoutMs: session, rebalanceTimeoutMs: rebalance, protocolType: type,
            protocols: protocols.map { ClassicGroupProtocol(name: $0, metadata: subscription(metadata)) },
            requiresKnownMemberId: v4
        )
    }

    mutating func apply(_ actions: [ClassicGroupAction]) {
        for action in actions {
            switch action {
            case .completeJoin(let id, let result): joins[id] = result
            case .completeSync(let id, let result): syncs[id] = result
            case .storeGroup(let snapshot, let pending): stores.append((snapshot, pending))
            }
        }
    }

    /// Joins; returns the immediate answer or nil when the join waits.
    @discardableResult
    mutating func join(_ request: ClassicJoinRequest) -> ClassicJoinResult? {
        nextId += 1
        let (reply, actions) = group.join(request, newMemberId: "member-\(nextId)", now: now)
        apply(actions)
        if case .respond(let result) = reply { return result }
        return nil
    }

    /// Joins a new dynamic member through MEMBER_ID_REQUIRED; returns its id.
    mutating func joinNew(_ request: ClassicJoinRequest = request()) -> String {
        let first = join(request)!
        precondition(first.errorCode == .memberIdRequired)
        var second = request
        second.memberId = first.memberId
        let immediate = join(second)
        precondition(immediate == nil, "the second join should wait")
        return first.memberId
    }

    @discardableResult
    mutating func sync(
        _ memberId: String, generation: Int32, assignments: [String: ByteBuffer] = [:], protocolName: String? = nil
    ) -> ClassicSyncResult? {
        let (reply, actions) = group.sync(
            ClassicSyncRequest(memberId: memberId, generationId: generation, protocolName: protocolName, assignments: assignments), now: now
        )
        apply(actions)
        if case .respond(let result) = reply { return result }
        return nil
    }

    /// Completes the pending store of the leader's assignment, as the coordinator does after
    /// its write.
    mutating func finishStore() {
        guard let last = stores.last, let pending = last.pending else { return }
        apply(group.assignmentStored(generationId: last.snapshot.generationId, assignments: pending, errorCode: .noError, now: now))
    }

    mutating func advance(_ milliseconds: Int64) {
        now += milliseconds
        apply(group.expire(now: now))
    }

    mutating func heartbeat(_ memberId: String, generation: Int32) -> ErrorCode {
        group.heartbeat(memberId: memberId, groupInstanceId: nil, generationId: generation, now: now)
    }
}
