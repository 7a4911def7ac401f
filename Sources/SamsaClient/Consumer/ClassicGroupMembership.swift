import Logging
import NIOCore
import SamsaCoordination
import SamsaProtocol

/// A change of the partitions a group member consumes.
public enum RebalanceEvent: Hashable, Sendable {
    /// The member now consumes these partitions.
    case assigned([TopicPartition])
    /// The member gave these partitions back (their positions were committed first with auto-commit).
    case revoked([TopicPartition])
    /// The member lost these partitions without giving them back (its membership expired).
    case lost([TopicPartition])
}

/// One member's side of a classic consumer group (JoinGroup, SyncGroup, Heartbeat,
/// LeaveGroup): joins with its subscription, computes the assignment when it is the leader
/// (with the assignor the group chose), and tells from heartbeats when to join again. Eager
/// rebalancing: a member gives up all its partitions before it joins again.
actor ClassicGroupMembership {
    let groupId: String
    let instanceId: String?
    let topics: [String]
    let configuration: ConsumerConfiguration
    let cluster: ClusterClient
    let logger: Logger
    private(set) var memberId = ""
    private(set) var generation: Int32 = -1
    private var protocolName: String?

    init(groupId: String, topics: [String], configuration: ConsumerConfiguration, cluster: ClusterClient, logger: Logger) {
        self.groupId = groupId
        self.instanceId = configuration.groupInstanceId
        self.topics = topics.sorted()
        self.configuration = configuration
        self.cluster = cluster
        self.logger = logger
    }

    /// The identity offset commits carry while the member is in a generation.
    var commitIdentity: GroupOffsets.Identity {
        GroupOffsets.Identity(generation: generation, memberId: memberId, instanceId: instanceId)
    }

    /// Whether the group chose a cooperative assignor (incremental rebalancing).
    var isCooperative: Bool { protocolName == CooperativeStickyAssignor().name }

    /// Joins (or joins again) and syncs, telling the group what it `owned`; returns the
    /// partitions assigned to this member.
    func join(owned: [TopicPartition] = []) async throws -> [TopicPartition] {
        var attempt = 0
        while true {
            do {
                let joined = try await joinGroup(owned: owned)
                let assignment = try await syncGroup(joined)
                return assignment
            } catch let error as KafkaError {
                switch error.code {
                case .memberIdRequired, .rebalanceInProgress:
                    continue
                case .unknownMemberId, .illegalGeneration:
                    memberId = ""
                    generation = -1
                    continue
                case .notCoordinator, .coordinatorNotAvailable, .coordinatorLoadInProgress:
                    await cluster.invalidateCoordinator(for: groupId, type: 0)
                default:
                    if !error.isRetriable { throw error }
                }
                try await backoff(&attempt)
            } catch let error as SamsaClientError where error.isRetriable {
                await cluster.invalidateCoordinator(for: groupId, type: 0)
                try await backoff(&attempt)
            }
        }
    }

    private func backoff(_ attempt: inout Int) async throws {
        try await Task.sleep(for: .milliseconds(configuration.client.backoffMs(attempt: attempt, random: Double.random(in: 0...1))))
        attempt += 1
    }

    private func joinGroup(owned: [TopicPartition]) async throws -> JoinGroupResponse {
        var request = JoinGroupRequest()
        request.groupId = groupId
        request.sessionTimeoutMs = configuration.sessionTimeoutMs
        request.rebalanceTimeoutMs = configuration.maxPollIntervalMs
        request.memberId = memberId
        request.groupInstanceId = instanceId
        request.protocolType = "consumer"
        let ownedPartitions = Dictionary(grouping: owned, by: \.topic).mapValues { $0.map(\.partition) }
        let subscription = ConsumerProtocol.Subscription(topics: topics, ownedPartitions: ownedPartitions, generationId: generation)
            .encode()
        request.protocols = configuration.assignors.map { assignor in
            var entry = JoinGroupRequest.JoinGroupRequestProtocol()
            entry.name = assignor.name
            entry.metadata = subscription
            return entry
        }
        let connection = try await cluster.coordinator(for: groupId, type: 0)
        // The answer comes when the rebalance completes, up to the rebalance timeout.
        let timeout = TimeAmount.milliseconds(Int64(configuration.maxPollIntervalMs) + 5_000)
        let response = try await connection.send(request, timeout: timeout)
        let code = ErrorCode(rawValue: response.errorCode)
        if code == .memberIdRequired { memberId = response.memberId }
        guard code == .noError else { throw KafkaError(code, message: "JoinGroup \(groupId)") }
        memberId = response.memberId
        generation = response.generationId
        protocolName = response.protocolName
        return response
    }

    private func syncGroup(_ joined: JoinGroupResponse) async throws -> [TopicPartition] {
        var request = SyncGroupRequest()
        request.groupId = groupId
        request.generationId = generation
        request.memberId = memberId
        request.groupInstanceId = instanceId
        request.protocolType = "consumer"
        request.protocolName = joined.protocolName
        if joined.leader == memberId && !joined.skipAssignment {
            request.assignments = try await leaderAssignments(joined)
        }
        let connection = try await cluster.coordinator(for: groupId, type: 0)
        let response = try await connection.send(request, timeout: .milliseconds(Int64(configuration.maxPollIntervalMs) + 5_000))
        let code = ErrorCode(rawValue: response.errorCode)
        guard code == .noError else { throw KafkaError(code, message: "SyncGroup \(groupId)") }
        let assignment = try ConsumerProtocol.Assignment(decoding: response.assignment)
        return assignment.partitions.flatMap { topic, partitions in partitions.map { TopicPartition(topic, $0) } }.sorted()
    }

    /// The leader's assignment of every member, with the assignor the group chose.
    private func leaderAssignments(_ joined: JoinGroupResponse) async throws -> [SyncGroupRequest.SyncGroupRequestAssignment] {
        let name = joined.protocolName ?? ""
        guard let assignor = configuration.assignors.first(where: { $0.name == name }) else {
            throw KafkaError(.inconsistentGroupProtocol, message: "the group chose assignor '\(name)', which this member does not have")
        }
        let members = try joined.members.map { member in
            AssignorMember(
                memberId: member.memberId, groupInstanceId: member.groupInstanceId,
                subscription: try ConsumerProtocol.Subscription(decoding: member.metadata))
        }
        let allTopics = Array(Set(members.flatMap(\.subscription.topics))).sorted()
        let metadata = try await cluster.refreshMetadata(topics: allTopics)
        var counts: [String: Int] = [:]
        for topic in allTopics {
            if let count = metadata.partitionCount(of: topic) { counts[topic] = count }
        }
        let plan = assignor.assign(members: members, partitionCounts: counts)
        logger.debug("assigned the group", metadata: ["group": "\(groupId)", "assignor": "\(name)", "members": "\(members.count)"])
        return members.map { member in
            var entry = SyncGroupRequest.SyncGroupRequestAssignment()
            entry.memberId = member.memberId
            entry.assignment = ConsumerProtocol.Assignment(partitions: plan[member.memberId] ?? [:]).encode()
            return entry
        }
    }

    /// What a heartbeat says.
    enum HeartbeatOutcome {
        /// Still a member of the current generation.
        case stable
        /// A rebalance started: give the partitions back and join again.
        case rejoin
        /// The coordinator no longer knows this member or generation: the partitions are
        /// already someone else's (lost, not revoked), and the member joins again.
        case lost
    }

    /// One heartbeat.
    func heartbeat() async throws -> HeartbeatOutcome {
        var request = HeartbeatRequest()
        request.groupId = groupId
        request.generationId = generation
        request.memberId = memberId
        request.groupInstanceId = instanceId
        let response: HeartbeatResponse
        do {
            response = try await cluster.coordinator(for: groupId, type: 0).send(request)
        } catch let error as SamsaClientError where error.isRetriable {
            await cluster.invalidateCoordinator(for: groupId, type: 0)
            return .stable
        }
        let code = ErrorCode(rawValue: response.errorCode)
        switch code {
        case .noError:
            return .stable
        case .rebalanceInProgress:
            return .rejoin
        case .unknownMemberId, .illegalGeneration:
            memberId = ""
            generation = -1
            return .lost
        case .notCoordinator, .coordinatorNotAvailable, .coordinatorLoadInProgress:
            await cluster.invalidateCoordinator(for: groupId, type: 0)
            return .stable
        default:
            throw KafkaError(code, message: "Heartbeat \(groupId)")
        }
    }

    /// Leaves the group (a dynamic member; a static member stays, so it can come back).
    func leave() async {
        guard instanceId == nil, !memberId.isEmpty else { return }
        var request = LeaveGroupRequest()
        request.groupId = groupId
        request.memberId = memberId
        var identity = LeaveGroupRequest.MemberIdentity()
        identity.memberId = memberId
        request.members = [identity]
        _ = try? await cluster.coordinator(for: groupId, type: 0).send(request)
        memberId = ""
        generation = -1
    }
}
