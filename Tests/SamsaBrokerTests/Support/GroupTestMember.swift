import NIOCore
import SamsaCoordination
import SamsaProtocol

/// A simulated classic-protocol consumer over its own connection: joins (through
/// MEMBER_ID_REQUIRED), assigns partitions round-robin when it leads, syncs, heartbeats and
/// leaves, as a real consumer does. Assignments are the partition numbers as text ("0,3").
actor GroupTestMember {
    let client: GroupTestClient
    let groupId: String
    let topic: String
    let sessionTimeoutMs: Int32
    let rebalanceTimeoutMs: Int32
    let instanceId: String?
    private(set) var memberId = ""
    private(set) var generation: Int32 = -1
    private(set) var isLeader = false
    private(set) var partitions: [Int32] = []
    private var members: [String] = []

    init(
        client: GroupTestClient, groupId: String, topic: String, sessionTimeoutMs: Int32 = 5_000,
        rebalanceTimeoutMs: Int32 = 5_000, instanceId: String? = nil
    ) {
        self.client = client
        self.groupId = groupId
        self.topic = topic
        self.sessionTimeoutMs = sessionTimeoutMs
        self.rebalanceTimeoutMs = rebalanceTimeoutMs
        self.instanceId = instanceId
    }

    static func connect(
        to address: SocketAddress, groupId: String, topic: String, sessionTimeoutMs: Int32 = 5_000,
        instanceId: String? = nil
    ) async throws -> GroupTestMember {
        GroupTestMember(
            client: try await GroupTestClient.connect(to: address), groupId: groupId, topic: topic,
            sessionTimeoutMs: sessionTimeoutMs, instanceId: instanceId)
    }

    /// One JoinGroup as sent by a v5 consumer; retries once on MEMBER_ID_REQUIRED.
    func join(version: Int16 = 5) async throws -> JoinGroupResponse {
        var request = JoinGroupRequest()
        request.groupId = groupId
        request.sessionTimeoutMs = sessionTimeoutMs
        request.rebalanceTimeoutMs = rebalanceTimeoutMs
        request.memberId = memberId
        request.groupInstanceId = instanceId
        request.protocolType = "consumer"
        var range = JoinGroupRequest.JoinGroupRequestProtocol()
        range.name = "range"
        range.metadata = ConsumerProtocolSubscription.encode(topics: [topic])
        request.protocols = [range]
        var response = try await client.send(request, version: version)
        if response.errorCode == ErrorCode.memberIdRequired.rawValue {
            memberId = response.memberId
            request.memberId = memberId
            response = try await client.send(request, version: version)
        }
        if response.errorCode == ErrorCode.noError.rawValue {
            memberId = response.memberId
            generation = response.generationId
            isLeader = response.leader == memberId
            members = response.members.map(\.memberId)
        }
        return response
    }

    /// A SyncGroup; the leader sends a round-robin assignment of `partitionCount` partitions.
    func sync(partitionCount: Int32, version: Int16 = 3) async throws -> SyncGroupResponse {
        var request = SyncGroupRequest()
        request.groupId = groupId
        request.generationId = generation
        request.memberId = memberId
        request.groupInstanceId = instanceId
        request.protocolType = "consumer"
        request.protocolName = "range"
        if isLeader {
            request.assignments = members.enumerated().map { index, member in
                var entry = SyncGroupRequest.SyncGroupRequestAssignment()
                entry.memberId = member
                let mine = stride(from: Int32(index), to: partitionCount, by: members.count).map(String.init)
                entry.assignment = ByteBuffer(string: mine.joined(separator: ","))
                return entry
            }
        }
        let response = try await client.send(request, version: version)
        if response.errorCode == ErrorCode.noError.rawValue {
            partitions = String(buffer: response.assignment).split(separator: ",").compactMap { Int32($0) }
        }
        return response
    }

    /// Join and sync until both succeed (as a consumer's poll loop does); returns the
    /// partitions assigned.
    @discardableResult
    func rebalance(partitionCount: Int32) async throws -> [Int32] {
        for _ in 0..<10 {
            let joined = try await join()
            guard joined.errorCode == ErrorCode.noError.rawValue else { continue }
            let synced = try await sync(partitionCount: partitionCount)
            if synced.errorCode == ErrorCode.noError.rawValue { return partitions }
        }
        throw GroupTestConnectionClosed()
    }

    func heartbeat(version: Int16 = 3) async throws -> ErrorCode {
        var request = HeartbeatRequest()
        request.groupId = groupId
        request.generationId = generation
        request.memberId = memberId
        request.groupInstanceId = instanceId
        return ErrorCode(rawValue: try await client.send(request, version: version).errorCode)
    }

    func leave(version: Int16 = 3) async throws -> LeaveGroupResponse {
        var request = LeaveGroupRequest()
        request.groupId = groupId
        request.memberId = memberId
        var identity = LeaveGroupRequest.MemberIdentity()
        identity.memberId = memberId
        identity.groupInstanceId = instanceId
        request.members = [identity]
        return try await client.send(request, version: version)
    }

    /// Commits `offset` for every assigned partition, in the current generation.
    func commit(offset: Int64, metadata: String = "", version: Int16 = 7) async throws -> OffsetCommitResponse {
        var request = OffsetCommitRequest()
        request.groupId = groupId
        request.generationIdOrMemberEpoch = generation
        request.memberId = memberId
        request.groupInstanceId = instanceId
        var topicEntry = OffsetCommitRequest.OffsetCommitRequestTopic()
        topicEntry.name = topic
        topicEntry.partitions = partitions.map { index in
            var partition = OffsetCommitRequest.OffsetCommitRequestPartition()
            partition.partitionIndex = index
            partition.committedOffset = offset
            partition.committedMetadata = metadata
            return partition
        }
        request.topics = [topicEntry]
        return try await client.send(request, version: version)
    }

    func close() async {
        await client.close()
    }
}
