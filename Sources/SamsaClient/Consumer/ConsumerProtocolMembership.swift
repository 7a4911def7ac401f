import Logging
import NIOConcurrencyHelpers
import NIOCore
import SamsaBinary
import SamsaProtocol

/// One member's side of a KIP-848 consumer group (`group.protocol=consumer`): the coordinator
/// computes the assignment; the member heartbeats (ConsumerGroupHeartbeat) with its
/// subscription and the partitions it owns, and reconciles when an assignment arrives: it gives
/// back what is no longer its own, takes what is new, and reports its ownership on the next
/// heartbeat. No group-wide barrier: other members keep consuming.
actor ConsumerProtocolMembership {
    let groupId: String
    let instanceId: String?
    let topics: [String]
    let configuration: ConsumerConfiguration
    let cluster: ClusterClient
    let logger: Logger
    private(set) var memberId = ""
    private(set) var memberEpoch: Int32 = 0
    private(set) var heartbeatIntervalMs: Int64
    /// What the member owns, as the coordinator should hear it.
    private var owned: Set<TopicPartition> = []

    init(groupId: String, topics: [String], configuration: ConsumerConfiguration, cluster: ClusterClient, logger: Logger) {
        self.groupId = groupId
        self.instanceId = configuration.groupInstanceId
        self.topics = topics.sorted()
        self.configuration = configuration
        self.cluster = cluster
        self.logger = logger
        self.heartbeatIntervalMs = configuration.heartbeatIntervalMs
    }

    /// The identity offset commits carry: the member epoch is the generation.
    var commitIdentity: GroupOffsets.Identity {
        GroupOffsets.Identity(generation: memberEpoch, memberId: memberId, instanceId: instanceId)
    }

    /// What one heartbeat brought.
    enum Outcome {
        /// No new assignment.
        case unchanged
        /// The coordinator's target assignment for this member.
        case assignment(Set<TopicPartition>)
        /// The membership is gone (UNKNOWN_MEMBER_ID, FENCED_MEMBER_EPOCH): everything owned is
        /// lost and the member joins again.
        case lost
    }

    /// Records what the member now owns; the next heartbeat reports it.
    func owns(_ partitions: Set<TopicPartition>) {
        owned = partitions
    }

    /// One heartbeat (a join when the epoch is 0).
    func heartbeat() async throws -> Outcome {
        let connection = try await cluster.coordinator(for: groupId, type: 0)
        if memberId.isEmpty, let version = connection.versions.version(for: ConsumerGroupHeartbeatRequest.self), version >= 1 {
            // From v1 the member names itself (KIP-1082).
            memberId = Self.randomMemberId()
        }
        let metadata = try await cluster.metadata(for: topics)
        var request = ConsumerGroupHeartbeatRequest()
        request.groupId = groupId
        request.memberId = memberId
        request.memberEpoch = memberEpoch
        request.instanceId = instanceId
        request.rebalanceTimeoutMs = configuration.maxPollIntervalMs
        request.subscribedTopicNames = topics
        request.topicPartitions = owned.byTopic().compactMap { topic, partitions in
            guard let id = metadata.topics[topic]?.id else { return nil }
            var entry = ConsumerGroupHeartbeatRequest.TopicPartitions()
            entry.topicId = id
            entry.partitions = partitions
            return entry
        }
        let response: ConsumerGroupHeartbeatResponse
        do {
            response = try await connection.send(request)
        } catch let error as SamsaClientError where error.isRetriable {
            await cluster.invalidateCoordinator(for: groupId, type: 0)
            return .unchanged
        }
        let code = ErrorCode(rawValue: response.errorCode)
        switch code {
        case .noError:
            break
        case .unknownMemberId, .fencedMemberEpoch:
            if code == .unknownMemberId { memberId = "" }
            memberEpoch = 0
            owned = []
            return .lost
        case .notCoordinator, .coordinatorNotAvailable, .coordinatorLoadInProgress:
            await cluster.invalidateCoordinator(for: groupId, type: 0)
            return .unchanged
        default:
            throw KafkaError(code, message: response.errorMessage ?? "ConsumerGroupHeartbeat \(groupId)")
        }
        if let id = response.memberId, !id.isEmpty { memberId = id }
        memberEpoch = response.memberEpoch
        if response.heartbeatIntervalMs > 0 { heartbeatIntervalMs = Int64(response.heartbeatIntervalMs) }
        guard let assignment = response.assignment else { return .unchanged }
        var names = cluster.snapshot.withLockedValue { $0.topics.values.reduce(into: [KafkaUUID: String]()) { $0[$1.id] = $1.name } }
        if assignment.topicPartitions.contains(where: { names[$0.topicId] == nil }) {
            let fresh = try await cluster.refreshMetadata(topics: nil)
            names = fresh.topics.values.reduce(into: [KafkaUUID: String]()) { $0[$1.id] = $1.name }
        }
        var target = Set<TopicPartition>()
        for entry in assignment.topicPartitions {
            guard let name = names[entry.topicId] else { continue }
            for partition in entry.partitions { target.insert(TopicPartition(name, partition)) }
        }
        return .assignment(target)
    }

    /// Leaves the group: epoch -1 for a dynamic member, -2 for a static one (which may come back).
    func leave() async {
        guard !memberId.isEmpty else { return }
        var request = ConsumerGroupHeartbeatRequest()
        request.groupId = groupId
        request.memberId = memberId
        request.memberEpoch = instanceId == nil ? -1 : -2
        request.instanceId = instanceId
        _ = try? await cluster.coordinator(for: groupId, type: 0).send(request)
        memberEpoch = 0
        owned = []
    }

    private static func randomMemberId() -> String {
        let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
        return String((0..<22).map { _ in alphabet[Int.random(in: 0..<alphabet.count)] })
    }
}
