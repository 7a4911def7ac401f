import NIOCore
import SamsaCoordination
import SamsaProtocol
import Testing

@testable import SamsaBroker

@Suite("Group membership over the wire: FindCoordinator, JoinGroup, SyncGroup, Heartbeat, LeaveGroup")
struct GroupMembershipHandlerTests {
    @Test("FindCoordinator answers this broker for groups and transactions, batched from v4, and creates __consumer_offsets")
    func findCoordinator() async throws {
        try await withGroupTestDirectory { directory in
            try await withGroupTestBroker(dataDirectory: directory) { broker, address in
                let client = try await GroupTestClient.connect(to: address)
                var single = FindCoordinatorRequest()
                single.key = "g"
                let v0 = try await client.send(single, version: 0)
                #expect(v0.errorCode == 0)
                #expect(v0.nodeId == broker.core.configuration.nodeID)
                #expect(v0.port == Int32(address.port!))
                #expect(v0.host == "127.0.0.1")
                #expect(broker.core.topics.image.topic(named: InternalTopics.consumerOffsets)?.partitionCount == 10)
                #expect(broker.core.topics.image.topic(named: InternalTopics.consumerOffsets)?.configs["cleanup.policy"] == "compact")

                var batched = FindCoordinatorRequest()
                batched.coordinatorKeys = ["a", "b"]
                let v4 = try await client.send(batched, version: 4)
                #expect(v4.coordinators.map(\.key) == ["a", "b"])
                #expect(v4.coordinators.allSatisfy { $0.errorCode == 0 && $0.port == Int32(address.port!) })
                batched.keyType = 1
                #expect(try await client.send(batched, version: 6).coordinators.allSatisfy { $0.errorCode == 0 })
                batched.keyType = 2
                #expect(
                    try await client.send(batched, version: 6).coordinators.allSatisfy {
                        $0.errorCode == ErrorCode.invalidRequest.rawValue && $0.nodeId == -1
                    })
                await client.close()
            }
        }
    }

    @Test("three members share six partitions; one leaves, one dies, the survivor ends up with all of them")
    func multiMemberRebalance() async throws {
        try await withGroupTestDirectory { directory in
            try await withGroupTestBroker(
                dataDirectory: directory,
                configure: { configuration in
                    configuration.groups.classic = ClassicGroupSettings(initialRebalanceDelayMs: 150, minSessionTimeoutMs: 50)
                }
            ) { broker, address in
                try await createGroupTestTopic(broker, "events", partitions: 6)
                var members: [GroupTestMember] = []
                for _ in 0..<3 {
                    members.append(try await GroupTestMember.connect(to: address, groupId: "g", topic: "events", sessionTimeoutMs: 1500))
                }
                let first = try await withThrowingTaskGroup(of: [Int32].self) { tasks in
                    for member in members {
                        tasks.addTask { try await member.rebalance(partitionCount: 6) }
                    }
                    // All three wait out the initial rebalance delay together.
                    #expect(try await waitForClassicMembers(broker, groupId: "g", count: 3))
                    await passInitialRebalanceDelay(broker, directory, groupId: "g", stepMs: 150)
                    return try await tasks.reduce(into: [[Int32]]()) { $0.append($1) }
                }
                #expect(first.map(\.count) == [2, 2, 2])
                #expect(Set(first.flatMap { $0 }) == Set(0..<6))
                let firstGeneration = await members[0].generation
                #expect(firstGeneration == 1)
                let leaders = await [members[0].isLeader, members[1].isLeader, members[2].isLeader]
                #expect(leaders.filter { $0 }.count == 1)

                // A clean leave: the others learn of it from their heartbeats and rejoin.
                let left = try await members[2].leave()
                #expect(left.errorCode == 0 && left.members.first?.errorCode == 0)
                #expect(try await members[0].heartbeat() == .rebalanceInProgress)
                let second = try await withThrowingTaskGroup(of: [Int32].self) { tasks in
                    for member in members[0..<2] {
                        tasks.addTask { try await member.rebalance(partitionCount: 6) }
                    }
                    return try await tasks.reduce(into: [[Int32]]()) { $0.append($1) }
                }
                #expect(second.map(\.count) == [3, 3])
                let secondGeneration = await members[0].generation
                #expect(secondGeneration > firstGeneration)

                // members[1] dies without leaving; the survivor heartbeats until told to rejoin.
                await members[1].close()
                await advanceGroupTime(broker, directory, byMilliseconds: 1000)
                #expect(try await members[0].heartbeat() == .noError)
                await advanceGroupTime(broker, directory, byMilliseconds: 500)
                #expect(try await members[0].heartbeat() == .rebalanceInProgress, "members[1]'s session of 1.5 s has run out")
                #expect(try await members[0].rebalance(partitionCount: 6) == [0, 1, 2, 3, 4, 5])
                #expect(await members[0].generation > secondGeneration)
                let group = try #require(await broker.groups.group("g"))
                #expect(group.state == .stable)
                #expect(group.members.count == 1)
                for member in members { await member.close() }
            }
        }
    }

    @Test("error codes: unknown member, illegal generation, protocol mismatch, session bounds, invalid group id, fencing")
    func errors() async throws {
        try await withGroupTestDirectory { directory in
            try await withGroupTestBroker(dataDirectory: directory) { broker, address in
                try await createGroupTestTopic(broker, "t", partitions: 2)
                let member = try await GroupTestMember.connect(
                    to: address, groupId: "g", topic: "t", sessionTimeoutMs: 1_000, instanceId: "static-1")
                try await member.rebalance(partitionCount: 2)
                let client = try await GroupTestClient.connect(to: address)

                var heartbeat = HeartbeatRequest()
                heartbeat.groupId = "g"
                heartbeat.memberId = await member.memberId
                heartbeat.generationId = 99
                #expect(try await client.send(heartbeat, version: 0).errorCode == ErrorCode.illegalGeneration.rawValue)
                heartbeat.memberId = "nobody"
                #expect(try await client.send(heartbeat, version: 4).errorCode == ErrorCode.unknownMemberId.rawValue)
                heartbeat.groupId = "no-such-group"
                #expect(try await client.send(heartbeat, version: 1).errorCode == ErrorCode.unknownMemberId.rawValue)

                var sync = SyncGroupRequest()
                sync.groupId = "g"
                sync.memberId = await member.memberId
                sync.groupInstanceId = "static-1"
                sync.generationId = await member.generation
                sync.protocolType = "consumer"
                sync.protocolName = "roundrobin"
                #expect(try await client.send(sync, version: 5).errorCode == ErrorCode.inconsistentGroupProtocol.rawValue)
                sync.protocolName = "range"
                let synced = try await client.send(sync, version: 5)
                #expect(synced.errorCode == 0)
                #expect(synced.protocolName == "range")
                #expect(String(buffer: synced.assignment) == "0,1")

                var join = JoinGroupRequest()
                join.groupId = "g"
                join.sessionTimeoutMs = 10
                join.protocolType = "consumer"
                var range = JoinGroupRequest.JoinGroupRequestProtocol()
                range.name = "range"
                join.protocols = [range]
                #expect(try await client.send(join, version: 9).errorCode == ErrorCode.invalidSessionTimeout.rawValue)
                join.sessionTimeoutMs = 1_000
                join.protocolType = "connect"
                #expect(try await client.send(join, version: 9).errorCode == ErrorCode.inconsistentGroupProtocol.rawValue)
                join.groupId = ""
                #expect(try await client.send(join, version: 0).errorCode == ErrorCode.invalidGroupId.rawValue)
                join.groupId = "g"
                join.protocolType = "consumer"
                join.memberId = "stale"
                join.groupInstanceId = "static-1"
                let fenced = try await client.send(join, version: 7)
                #expect(fenced.errorCode == ErrorCode.fencedInstanceId.rawValue)
                #expect(fenced.generationId == -1)

                var leave = LeaveGroupRequest()
                leave.groupId = "g"
                leave.memberId = "nobody"
                #expect(try await client.send(leave, version: 1).errorCode == ErrorCode.unknownMemberId.rawValue)
                await client.close()
                await member.close()
            }
        }
    }

    @Test("JoinGroup v0 and v9 both work; a v9 member learns the protocol type and name")
    func oldAndNewVersions() async throws {
        try await withGroupTestDirectory { directory in
            try await withGroupTestBroker(dataDirectory: directory) { _, address in
                let client = try await GroupTestClient.connect(to: address)
                var join = JoinGroupRequest()
                join.groupId = "old"
                join.sessionTimeoutMs = 1_000
                join.protocolType = "consumer"
                var range = JoinGroupRequest.JoinGroupRequestProtocol()
                range.name = "range"
                range.metadata = ConsumerProtocolSubscription.encode(topics: ["t"])
                join.protocols = [range]
                let v0 = try await client.send(join, version: 0)
                #expect(v0.errorCode == 0)
                #expect(v0.generationId == 1)
                #expect(v0.protocolName == "range")
                #expect(v0.members.first?.metadata == range.metadata)

                join.groupId = "new"
                let required = try await client.send(join, version: 9)
                #expect(required.errorCode == ErrorCode.memberIdRequired.rawValue)
                join.memberId = required.memberId
                #expect(required.memberId.hasPrefix("group-test-"))
                let v9 = try await client.send(join, version: 9)
                #expect(v9.errorCode == 0)
                #expect(v9.protocolType == "consumer")
                #expect(v9.protocolName == "range")
                #expect(v9.leader == required.memberId)
                #expect(!v9.skipAssignment)
                await client.close()
            }
        }
    }
}
