import NIOCore
import SamsaBinary
import SamsaCoordination
import SamsaProtocol
import SamsaStorage
import Testing

@testable import SamsaBroker

/// ConsumerGroupHeartbeat and ConsumerGroupDescribe over a real socket, with simulated
/// KIP-848 members, and how consumer groups show in the other group APIs.
@Suite struct ConsumerGroupHandlerTests {
    @Test func threeMembersShareSixPartitionsAndShowInTheAdminApis() async throws {
        try await withGroupTestDirectory { directory in
            try await withGroupTestBroker(dataDirectory: directory) { broker, address in
                try await createGroupTestTopic(broker, "events", partitions: 6)
                var members: [ConsumerGroupTestMember] = []
                for _ in 0..<3 {
                    members.append(try await ConsumerGroupTestMember.connect(to: address, groupId: "cg", topics: ["events"]))
                }
                let first = try await members[0].heartbeat()
                #expect(first.errorCode == 0)
                #expect(first.heartbeatIntervalMs == 1_000)
                #expect(await members[0].partitions == [0, 1, 2, 3, 4, 5])
                let balanced = try await heartbeatUntil(members) {
                    var all: [Int32] = []
                    for member in members {
                        let owned = await member.partitions
                        guard owned.count == 2 else { return false }
                        all += owned
                    }
                    return all.sorted() == [0, 1, 2, 3, 4, 5]
                }
                #expect(balanced)

                let client = try await GroupTestClient.connect(to: address)
                var describe = ConsumerGroupDescribeRequest()
                describe.groupIds = ["cg", "missing", ""]
                let described = try await client.send(describe, version: 1)
                let group = try #require(described.groups.first)
                #expect(group.errorCode == 0)
                #expect(group.groupState == "Stable")
                #expect(group.assignorName == "uniform")
                #expect(group.members.count == 3)
                #expect(group.members.allSatisfy { $0.assignment.topicPartitions.first?.topicName == "events" && $0.memberType == 1 })
                #expect(group.groupEpoch == 3)
                #expect(described.groups[1].errorCode == ErrorCode.groupIdNotFound.rawValue)
                #expect(described.groups[2].errorCode == ErrorCode.invalidGroupId.rawValue)

                var list = ListGroupsRequest()
                list.typesFilter = ["consumer"]
                let listed = try await client.send(list, version: 5)
                #expect(listed.groups.map(\.groupId) == ["cg"])
                #expect(listed.groups.first?.groupType == "consumer")
                #expect(listed.groups.first?.groupState == "Stable")
                list.typesFilter = []
                list.statesFilter = ["reconciling"]
                #expect(try await client.send(list, version: 5).groups.isEmpty)

                var classicDescribe = DescribeGroupsRequest()
                classicDescribe.groups = ["cg"]
                let classic = try await client.send(classicDescribe, version: 6)
                #expect(classic.groups.first?.errorCode == ErrorCode.groupIdNotFound.rawValue)

                var delete = DeleteGroupsRequest()
                delete.groupsNames = ["cg"]
                #expect(try await client.send(delete, version: 2).results.first?.errorCode == ErrorCode.nonEmptyGroup.rawValue)

                // One leaves: the other two take its partitions over.
                try await members[2].leave()
                let rest = Array(members.prefix(2))
                let moved = try await heartbeatUntil(rest) {
                    let first = await rest[0].partitions.count
                    let second = await rest[1].partitions.count
                    return first == 3 && second == 3
                }
                #expect(moved)
                for member in members { await member.close() }
                await client.close()
            }
        }
    }

    @Test func offsetsCommitWithTheMemberEpoch() async throws {
        try await withGroupTestDirectory { directory in
            try await withGroupTestBroker(dataDirectory: directory) { broker, address in
                try await createGroupTestTopic(broker, "events", partitions: 2)
                let member = try await ConsumerGroupTestMember.connect(to: address, groupId: "cg", topics: ["events"])
                try await member.heartbeat()
                let client = try await GroupTestClient.connect(to: address)
                func commit(epoch: Int32, memberId: String) async throws -> Int16? {
                    var request = OffsetCommitRequest()
                    request.groupId = "cg"
                    request.memberId = memberId
                    request.generationIdOrMemberEpoch = epoch
                    var topic = OffsetCommitRequest.OffsetCommitRequestTopic()
                    topic.name = "events"
                    var partition = OffsetCommitRequest.OffsetCommitRequestPartition()
                    partition.partitionIndex = 1
                    partition.committedOffset = 42
                    topic.partitions = [partition]
                    request.topics = [topic]
                    return try await client.send(request, version: 9).topics.first?.partitions.first?.errorCode
                }
                let memberId = await member.memberId
                #expect(try await commit(epoch: 1, memberId: memberId) == 0)
                #expect(try await commit(epoch: 7, memberId: memberId) == ErrorCode.staleMemberEpoch.rawValue)
                #expect(try await commit(epoch: -1, memberId: "") == ErrorCode.unknownMemberId.rawValue)
                let stored = await broker.groups.fetchOffsets(groupId: "cg", partitions: nil)
                #expect(stored[TopicPartition(topic: "events", partition: 1)]?.offset == 42)
                await member.close()
                await client.close()
            }
        }
    }

    @Test func classicAndConsumerGroupsDoNotMix() async throws {
        try await withGroupTestDirectory { directory in
            try await withGroupTestBroker(dataDirectory: directory) { broker, address in
                try await createGroupTestTopic(broker, "events", partitions: 2)
                let consumer = try await ConsumerGroupTestMember.connect(to: address, groupId: "new", topics: ["events"])
                try await consumer.heartbeat()
                let classicMember = try await GroupTestMember.connect(to: address, groupId: "new", topic: "events")
                let join = try await classicMember.join()
                #expect(join.errorCode == ErrorCode.inconsistentGroupProtocol.rawValue)

                let oldMember = try await GroupTestMember.connect(to: address, groupId: "old", topic: "events")
                _ = try await oldMember.rebalance(partitionCount: 2)
                let intruder = try await ConsumerGroupTestMember.connect(to: address, groupId: "old", topics: ["events"])
                let refused = try await intruder.heartbeat()
                #expect(refused.errorCode == ErrorCode.groupIdNotFound.rawValue)
                for member in [consumer, intruder] { await member.close() }
                for member in [classicMember, oldMember] { await member.close() }
            }
        }
    }

    @Test func version0MemberIdsComeFromTheBrokerAndSessionsExpire() async throws {
        try await withGroupTestDirectory { directory in
            let configure: (inout BrokerConfiguration) -> Void = { configuration in
                fastGroupSettings(&configuration)
                configuration.groups.consumer.sessionTimeoutMs = 1500
            }
            try await withGroupTestBroker(dataDirectory: directory, configure: configure) { broker, address in
                try await createGroupTestTopic(broker, "events", partitions: 4)
                let a = try await ConsumerGroupTestMember.connect(to: address, groupId: "cg", topics: ["events"], version: 0)
                let b = try await ConsumerGroupTestMember.connect(
                    to: address, groupId: "cg", topics: ["events"], version: 0, assignor: "range")
                let joined = try await a.heartbeat()
                #expect(joined.memberId?.isEmpty == false)
                try await b.heartbeat()
                let split = try await heartbeatUntil([a, b]) {
                    let first = await a.partitions.count
                    let second = await b.partitions.count
                    return first == 2 && second == 2
                }
                #expect(split)
                // b stops heartbeating: a gets everything once b's session has expired.
                await advanceGroupTime(broker, directory, byMilliseconds: 1000)
                try await a.heartbeat()
                await advanceGroupTime(broker, directory, byMilliseconds: 500)
                #expect(try await heartbeatUntil([a]) { await a.partitions.count == 4 })
                #expect(await a.partitions == [0, 1, 2, 3])
                let fenced = try await b.heartbeat()
                #expect(fenced.errorCode == ErrorCode.unknownMemberId.rawValue)
                let unknownAssignor = try await ConsumerGroupTestMember.connect(
                    to: address, groupId: "cg", topics: ["events"], assignor: "sticky")
                #expect(try await unknownAssignor.heartbeat().errorCode == ErrorCode.unsupportedAssignor.rawValue)
                for member in [a, b, unknownAssignor] { await member.close() }
            }
        }
    }
}
