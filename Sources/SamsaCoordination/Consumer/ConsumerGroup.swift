import SamsaBinary
import SamsaProtocol

/// The state machine of one KIP-848 consumer group (ConsumerGroupHeartbeat), as a plain
/// value: heartbeats in, answers out. It does no I/O and reads no clock; every event carries
/// `now` (ms since the epoch) and the owner calls ``expire(now:)`` at ``nextDeadline``.
///
/// As in Kafka's coordinator: any change of membership, subscriptions or subscribed topics
/// bumps the group epoch; the next heartbeat computes a new target assignment with the
/// server-side assignor (its epoch becomes the group epoch); then each member reconciles
/// towards its target on its own heartbeats, revoking before being assigned, and only
/// receives a partition once no other member still owns it.
public struct ConsumerGroup: Sendable {
    public let groupId: String
    public internal(set) var settings: ConsumerGroupSettings
    public internal(set) var state: ConsumerGroupState = .empty
    /// Bumped by every change that calls for a new target assignment.
    public internal(set) var groupEpoch: Int32 = 0
    /// The group epoch the target assignment was computed for.
    public internal(set) var assignmentEpoch: Int32 = 0
    public internal(set) var members: [String: ConsumerGroupMember] = [:]
    /// Static members: instance id to member id.
    public internal(set) var staticMembers: [String: String] = [:]
    /// Each member's target partitions.
    public internal(set) var targetAssignment: [String: PartitionAssignment] = [:]
    /// The subscribed topics (by name) when the target assignment was last looked at: a change
    /// in them (created, deleted, partitions added) bumps the group epoch.
    public internal(set) var subscribedTopics: [String: ConsumerGroupTopic] = [:]
    /// When the group entered its state.
    public internal(set) var currentStateTimestamp: Int64

    public init(groupId: String, settings: ConsumerGroupSettings = ConsumerGroupSettings(), now: Int64) {
        self.groupId = groupId
        self.settings = settings
        self.currentStateTimestamp = now
    }

    /// The members in member id order.
    public var orderedMembers: [ConsumerGroupMember] { members.keys.sorted().compactMap { members[$0] } }

    /// The assignor the group uses: the one most members ask for (ties by name), else the
    /// default (the first of ``ConsumerGroupSettings/assignors``).
    public var assignorName: String {
        var votes: [String: Int] = [:]
        for member in members.values {
            if let name = member.serverAssignor { votes[name, default: 0] += 1 }
        }
        return votes.max { ($0.value, $1.key) < ($1.value, $0.key) }?.key ?? settings.assignors.first ?? "uniform"
    }

    /// The earliest session or revocation deadline of any member.
    public var nextDeadline: Int64? {
        members.values.flatMap { [$0.sessionDeadline, $0.revocationDeadline].compactMap { $0 } }.min()
    }

    /// Removes members whose session or revocation time ran out.
    public mutating func expire(now: Int64) {
        for member in orderedMembers {
            let revocationLate = member.revocationDeadline.map { $0 <= now } ?? false
            if member.sessionDeadline <= now || revocationLate {
                removeMember(member.memberId, now: now)
            }
        }
        updateState(now: now)
    }

    /// Removes a member; its partitions are free for the others at their next heartbeat.
    mutating func removeMember(_ memberId: String, now: Int64) {
        guard let member = members.removeValue(forKey: memberId) else { return }
        targetAssignment[memberId] = nil
        if let instance = member.instanceId, staticMembers[instance] == memberId {
            staticMembers[instance] = nil
        }
        groupEpoch += 1
        if members.isEmpty {
            // Nobody is left to compute an assignment for.
            assignmentEpoch = groupEpoch
            subscribedTopics = [:]
        }
    }

    /// Marks the group as being removed (DeleteGroups, offsets expiry).
    public mutating func markDead(now: Int64) {
        transition(to: .dead, now: now)
    }

    mutating func transition(to newState: ConsumerGroupState, now: Int64) {
        guard state != newState else { return }
        state = newState
        currentStateTimestamp = now
    }

    /// Derives the state from the members and epochs.
    mutating func updateState(now: Int64) {
        guard state != .dead else { return }
        if members.isEmpty {
            transition(to: .empty, now: now)
        } else if groupEpoch > assignmentEpoch {
            transition(to: .assigning, now: now)
        } else if members.values.contains(where: { !$0.hasLeftTemporarily && ($0.memberEpoch != assignmentEpoch || $0.state != .stable) }) {
            transition(to: .reconciling, now: now)
        } else {
            transition(to: .stable, now: now)
        }
    }

    /// The subscribed topics that exist: names, plus topics a regex matches in full.
    func resolveSubscriptions(_ topics: ConsumerGroupTopics) -> (all: [String: ConsumerGroupTopic], byMember: [String: Set<KafkaUUID>]) {
        var all: [String: ConsumerGroupTopic] = [:]
        var byMember: [String: Set<KafkaUUID>] = [:]
        var regexMatches: [String: [ConsumerGroupTopic]] = [:]
        for member in members.values {
            var ids = Set<KafkaUUID>()
            for name in member.subscribedTopicNames {
                if let topic = topics.byName[name] {
                    all[name] = topic
                    ids.insert(topic.id)
                }
            }
            if let pattern = member.subscribedTopicRegex, !pattern.isEmpty {
                if regexMatches[pattern] == nil {
                    let regex = try? Regex(pattern)
                    regexMatches[pattern] =
                        regex.map { regex in
                            topics.byName.values.filter { (try? regex.wholeMatch(in: $0.name)) != nil }
                        } ?? []
                }
                for topic in regexMatches[pattern]! {
                    all[topic.name] = topic
                    ids.insert(topic.id)
                }
            }
            byMember[member.memberId] = ids
        }
        return (all, byMember)
    }

    /// Computes a new target assignment for the current group epoch.
    mutating func computeTargetAssignment(_ topics: ConsumerGroupTopics) {
        let resolved = resolveSubscriptions(topics)
        let subscribers = orderedMembers.map {
            ConsumerGroupAssignor.Subscriber(
                memberId: $0.memberId, topics: resolved.byMember[$0.memberId] ?? [],
                previous: targetAssignment[$0.memberId] ?? .empty
            )
        }
        var counts: [KafkaUUID: Int32] = [:]
        for topic in resolved.all.values { counts[topic.id] = topic.partitionCount }
        let assignment =
            ConsumerGroupAssignor.assign(assignorName, members: subscribers, partitionCounts: counts)
            ?? ConsumerGroupAssignor.uniform(members: subscribers, partitionCounts: counts)
        targetAssignment = assignment
        assignmentEpoch = groupEpoch
    }

    /// Who owns each partition now (assigned or pending revocation), but `memberId`.
    func ownersOtherThan(_ memberId: String) -> [KafkaUUID: Set<Int32>] {
        var owned: [KafkaUUID: Set<Int32>] = [:]
        for member in members.values where member.memberId != memberId {
            for (topicId, partitions) in member.ownedOrPending.partitions {
                owned[topicId, default: []].formUnion(partitions)
            }
        }
        return owned
    }
}
