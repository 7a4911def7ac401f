import NIOCore
import SamsaProtocol

/// The state machine of one classic consumer group (JoinGroup/SyncGroup/Heartbeat/LeaveGroup),
/// as a plain value: events in, ``ClassicGroupAction``s out. It does no I/O and reads no clock;
/// every event carries `now` (ms since the epoch) and the owner calls ``expire(now:)`` at
/// ``nextDeadline`` to drive session, rebalance and sync timeouts.
///
/// The behaviour follows Kafka's classic group coordinator: a rebalance waits until every
/// known member has rejoined (or the rebalance timeout passes, dropping the laggards), bumps
/// the generation, picks the protocol most members prefer among those all support, and sends
/// the leader every member's metadata; the leader's SyncGroup assignment is persisted and then
/// handed to every member.
public struct ClassicGroup: Sendable {
    public let groupId: String
    public internal(set) var settings: ClassicGroupSettings
    public internal(set) var state: ClassicGroupState = .empty
    /// Bumped each time a rebalance completes (also when it leaves the group empty).
    public internal(set) var generationId: Int32 = 0
    /// The protocol type of the first member ("consumer" for consumers); kept when the group
    /// empties, nil for a group that only ever had offsets committed.
    public internal(set) var protocolType: String?
    /// The protocol chosen for the current generation.
    public internal(set) var protocolName: String?
    public internal(set) var leaderId: String?
    public internal(set) var members: [String: ClassicGroupMember] = [:]
    /// Member ids in join order: the leader is the first member to join.
    public internal(set) var memberOrder: [String] = []
    /// Static members: group instance id to member id.
    public internal(set) var staticMembers: [String: String] = [:]
    /// Members told MEMBER_ID_REQUIRED, with the time they must rejoin by.
    public internal(set) var pendingMembers: [String: Int64] = [:]
    /// Members that have not sent SyncGroup since the last rebalance completed.
    public internal(set) var pendingSyncMembers: Set<String> = []
    /// When the group entered its state.
    public internal(set) var currentStateTimestamp: Int64

    /// When the PreparingRebalance phase ends at the latest.
    var joinDeadline: Int64?
    /// While the first rebalance of an empty group is delayed: how much longer it may be
    /// extended, and whether a member joined since the delay last started.
    var initialDelay: (remainingMs: Int64, memberJoined: Bool)?
    /// When members still in ``pendingSyncMembers`` are removed.
    var syncDeadline: Int64?

    public init(groupId: String, settings: ClassicGroupSettings = ClassicGroupSettings(), now: Int64) {
        self.groupId = groupId
        self.settings = settings
        self.currentStateTimestamp = now
    }

    /// The members in join order.
    public var orderedMembers: [ClassicGroupMember] { memberOrder.compactMap { members[$0] } }

    /// The largest rebalance timeout of the members: how long a rebalance waits for rejoins.
    public var rebalanceTimeoutMs: Int64 {
        Int64(members.values.map(\.rebalanceTimeoutMs).max() ?? 0)
    }

    /// Whether every known member has rejoined and no new member still owes its second join.
    var hasAllMembersJoined: Bool {
        pendingMembers.isEmpty && members.values.allSatisfy(\.isAwaitingJoin)
    }

    /// True when `memberId` is not the member `groupInstanceId` belongs to now (another
    /// process took the static identity over).
    public func isStaticMemberFenced(groupInstanceId: String?, memberId: String) -> Bool {
        guard let groupInstanceId, let current = staticMembers[groupInstanceId] else { return false }
        return current != memberId
    }

    /// Protocols every member supports, in the first member's order of preference.
    var candidateProtocols: [String] {
        let all = orderedMembers
        guard let first = all.first else { return [] }
        return first.protocols.map(\.name).filter { name in all.allSatisfy { $0.protocols.contains { $0.name == name } } }
    }

    /// Whether a member with this protocol type and these protocols may be in the group.
    func supports(protocolType: String, protocols: [ClassicGroupProtocol], ignoring memberId: String? = nil) -> Bool {
        let others = orderedMembers.filter { $0.memberId != memberId }
        guard let first = others.first else {
            return !protocolType.isEmpty && !protocols.isEmpty
        }
        guard protocolType == (self.protocolType ?? first.protocolType) else { return false }
        return protocols.contains { offered in others.allSatisfy { $0.protocols.contains { $0.name == offered.name } } }
    }

    /// The protocol for the next generation: each member votes for its most preferred
    /// candidate; most votes wins, ties go to the first member's preference.
    func selectProtocol() -> String? {
        let candidates = candidateProtocols
        var votes: [String: Int] = [:]
        for member in orderedMembers {
            if let choice = member.protocols.first(where: { candidates.contains($0.name) }) {
                votes[choice.name, default: 0] += 1
            }
        }
        var best: String?
        for name in candidates where best == nil || votes[name, default: 0] > votes[best!, default: 0] {
            best = name
        }
        return best
    }

    mutating func transition(to newState: ClassicGroupState, now: Int64) {
        state = newState
        currentStateTimestamp = now
    }

    mutating func insert(_ member: ClassicGroupMember) {
        if members.isEmpty, protocolType == nil || state == .empty {
            protocolType = member.protocolType
        }
        if members[member.memberId] == nil {
            memberOrder.append(member.memberId)
        }
        members[member.memberId] = member
        if let instance = member.groupInstanceId {
            staticMembers[instance] = member.memberId
        }
        if leaderId == nil {
            leaderId = member.memberId
        }
    }

    /// The JoinGroup answer `memberId` gets for the current generation.
    func joinResult(for memberId: String, skipAssignment: Bool = false) -> ClassicJoinResult {
        var result = ClassicJoinResult(errorCode: .noError, memberId: memberId)
        result.generationId = generationId
        result.protocolType = protocolType
        result.protocolName = protocolName
        result.leaderId = leaderId ?? ""
        result.skipAssignment = skipAssignment
        if memberId == leaderId {
            result.members = orderedMembers.map {
                ClassicJoinResult.Member(
                    memberId: $0.memberId, groupInstanceId: $0.groupInstanceId, metadata: $0.metadata(for: protocolName))
            }
        }
        return result
    }

    static func joinError(_ code: ErrorCode, memberId: String) -> ClassicJoinResult {
        ClassicJoinResult(errorCode: code, memberId: memberId)
    }
}

extension ClassicGroup {
    /// Restarts the member's session timeout from `now`.
    mutating func renewSession(_ memberId: String, now: Int64) {
        guard let timeout = members[memberId]?.sessionTimeoutMs else { return }
        members[memberId]!.heartbeatDeadline = now + Int64(timeout)
    }
}
