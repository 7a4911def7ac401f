import Foundation
import NIOCore
import SamsaBinary
import SamsaProtocol

/// A simulated KIP-848 consumer over its own connection: joins with epoch 0, heartbeats with
/// the partitions it owns, takes whatever assignment it is sent at once (revoking the rest),
/// and leaves with epoch -1, as librdkafka and Java consumers do.
actor ConsumerGroupTestMember {
    let client: GroupTestClient
    let groupId: String
    let topics: [String]
    let version: Int16
    let assignor: String?
    private(set) var memberId: String
    private(set) var epoch: Int32 = 0
    private(set) var owned: [KafkaUUID: [Int32]] = [:]
    private(set) var heartbeatIntervalMs: Int32 = 0

    init(client: GroupTestClient, groupId: String, topics: [String], version: Int16, assignor: String?) {
        self.client = client
        self.groupId = groupId
        self.topics = topics
        self.version = version
        self.assignor = assignor
        memberId = version >= 1 ? UUID().uuidString : ""
    }

    static func connect(
        to address: SocketAddress, groupId: String, topics: [String], version: Int16 = 1, assignor: String? = nil
    ) async throws -> ConsumerGroupTestMember {
        ConsumerGroupTestMember(
            client: try await GroupTestClient.connect(to: address), groupId: groupId, topics: topics, version: version, assignor: assignor
        )
    }

    /// The owned partitions of all topics, sorted.
    var partitions: [Int32] { owned.values.flatMap { $0 }.sorted() }

    /// One heartbeat: the first one joins with the full subscription.
    @discardableResult
    func heartbeat() async throws -> ConsumerGroupHeartbeatResponse {
        var request = ConsumerGroupHeartbeatRequest()
        request.groupId = groupId
        request.memberId = memberId
        request.memberEpoch = epoch
        if epoch == 0 {
            request.rebalanceTimeoutMs = 5_000
            request.subscribedTopicNames = topics
            request.serverAssignor = assignor
        }
        request.topicPartitions = owned.keys.sorted().map { id in
            var entry = ConsumerGroupHeartbeatRequest.TopicPartitions()
            entry.topicId = id
            entry.partitions = owned[id]!
            return entry
        }
        let response = try await client.send(request, version: version)
        guard response.errorCode == ErrorCode.noError.rawValue else { return response }
        memberId = response.memberId ?? memberId
        epoch = response.memberEpoch
        heartbeatIntervalMs = response.heartbeatIntervalMs
        if let assignment = response.assignment {
            owned = Dictionary(assignment.topicPartitions.map { ($0.topicId, $0.partitions.sorted()) }, uniquingKeysWith: { $1 })
        }
        return response
    }

    /// Leaves the group (epoch -1).
    @discardableResult
    func leave() async throws -> ConsumerGroupHeartbeatResponse {
        var request = ConsumerGroupHeartbeatRequest()
        request.groupId = groupId
        request.memberId = memberId
        request.memberEpoch = -1
        let response = try await client.send(request, version: version)
        owned = [:]
        return response
    }

    func close() async {
        await client.close()
    }
}

/// Heartbeats every member in turn until `done` holds, or fails after `rounds` rounds.
func heartbeatUntil(
    _ members: [ConsumerGroupTestMember], rounds: Int = 20, _ done: () async -> Bool
) async throws -> Bool {
    for _ in 0..<rounds {
        if await done() { return true }
        for member in members {
            try await member.heartbeat()
        }
    }
    return await done()
}
