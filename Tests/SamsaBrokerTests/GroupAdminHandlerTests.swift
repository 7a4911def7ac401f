import NIOCore
import SamsaCoordination
import SamsaProtocol
import Testing

@testable import SamsaBroker

@Suite("Group admin over the wire: ListGroups, DescribeGroups, DeleteGroups, OffsetDelete")
struct GroupAdminHandlerTests {
    @Test("ListGroups lists every group, filtered by state (v4) and type (v5)")
    func listGroups() async throws {
        try await withGroupTestDirectory { directory in
            try await withGroupTestBroker(dataDirectory: directory) { broker, address in
                try await createGroupTestTopic(broker, "t", partitions: 2)
                let member = try await GroupTestMember.connect(to: address, groupId: "active", topic: "t")
                try await member.rebalance(partitionCount: 2)
                let client = try await GroupTestClient.connect(to: address)
                try await client.send(groupTestCommit("simple", topic: "t", [0: 1]), version: 2)

                let v0 = try await client.send(ListGroupsRequest(), version: 0)
                #expect(v0.errorCode == 0)
                #expect(v0.groups.map(\.groupId) == ["active", "simple"])
                #expect(v0.groups.map(\.protocolType) == ["consumer", ""])
                var filtered = ListGroupsRequest()
                filtered.statesFilter = ["stable"]
                let v4 = try await client.send(filtered, version: 4)
                #expect(v4.groups.map(\.groupId) == ["active"])
                #expect(v4.groups.first?.groupState == "Stable")
                filtered.statesFilter = ["Empty"]
                filtered.typesFilter = ["Classic"]
                let v5 = try await client.send(filtered, version: 5)
                #expect(v5.groups.map(\.groupId) == ["simple"])
                #expect(v5.groups.first?.groupType == "classic")
                filtered.typesFilter = ["consumer"]
                #expect(try await client.send(filtered, version: 5).groups.isEmpty)
                filtered.typesFilter = []
                filtered.statesFilter = ["NoSuchState"]
                #expect(try await client.send(filtered, version: 4).groups.isEmpty)
                await client.close()
                await member.close()
            }
        }
    }

    @Test("DescribeGroups shows a stable group's members with metadata and assignments; unknown groups are Dead or not found")
    func describeGroups() async throws {
        try await withGroupTestDirectory { directory in
            try await withGroupTestBroker(dataDirectory: directory) { broker, address in
                try await createGroupTestTopic(broker, "t", partitions: 2)
                let member = try await GroupTestMember.connect(to: address, groupId: "g", topic: "t", instanceId: "i-1")
                try await member.rebalance(partitionCount: 2)
                let client = try await GroupTestClient.connect(to: address)
                var request = DescribeGroupsRequest()
                request.groups = ["g", "missing"]
                request.includeAuthorizedOperations = true
                let v5 = try await client.send(request, version: 5)
                let described = try #require(v5.groups.first)
                #expect(described.errorCode == 0)
                #expect(described.groupState == "Stable")
                #expect(described.protocolType == "consumer")
                #expect(described.protocolData == "range")
                #expect(described.authorizedOperations != Int32.min)
                let info = try #require(described.members.first)
                #expect(info.memberId == (await member.memberId))
                #expect(info.groupInstanceId == "i-1")
                #expect(info.clientId == "group-test")
                #expect(info.clientHost == "/127.0.0.1")
                #expect(ConsumerProtocolSubscription.topics(in: info.memberMetadata) == ["t"])
                #expect(String(buffer: info.memberAssignment) == "0,1")
                #expect(v5.groups[1].groupState == "Dead")
                #expect(v5.groups[1].errorCode == 0)
                let v6 = try await client.send(request, version: 6)
                #expect(v6.groups[1].errorCode == ErrorCode.groupIdNotFound.rawValue)
                let v0 = try await client.send(request, version: 0)
                #expect(v0.groups.first?.members.count == 1)
                await client.close()
                await member.close()
            }
        }
    }

    @Test("DeleteGroups refuses groups with members and unknown groups, and deletes empty ones with their offsets")
    func deleteGroups() async throws {
        try await withGroupTestDirectory { directory in
            try await withGroupTestBroker(dataDirectory: directory) { broker, address in
                try await createGroupTestTopic(broker, "t", partitions: 2)
                let member = try await GroupTestMember.connect(to: address, groupId: "g", topic: "t")
                try await member.rebalance(partitionCount: 2)
                _ = try await member.commit(offset: 9)
                let client = try await GroupTestClient.connect(to: address)
                var request = DeleteGroupsRequest()
                request.groupsNames = ["g", "missing", ""]
                let refused = try await client.send(request, version: 2)
                #expect(
                    refused.results.map(\.errorCode) == [
                        ErrorCode.nonEmptyGroup.rawValue, ErrorCode.groupIdNotFound.rawValue, ErrorCode.invalidGroupId.rawValue,
                    ])
                _ = try await member.leave()
                request.groupsNames = ["g"]
                #expect(try await client.send(request, version: 0).results.map(\.errorCode) == [0])
                #expect(await broker.groups.group("g") == nil)
                let fetched = try await client.send(groupTestFetch("g", topic: "t", partitions: [0, 1]), version: 3)
                #expect(fetched.topics.first?.partitions.map(\.committedOffset) == [-1, -1])
                await client.close()
                await member.close()
            }
            // The deletion is durable: after a restart the group and its offsets stay gone.
            try await withGroupTestBroker(dataDirectory: directory) { broker, address in
                #expect(await broker.groups.group("g") == nil)
                let client = try await GroupTestClient.connect(to: address)
                let fetched = try await client.send(groupTestFetch("g", topic: "t", partitions: nil), version: 3)
                #expect(fetched.topics.isEmpty)
                await client.close()
            }
        }
    }

    @Test("OffsetDelete removes offsets of topics the group does not consume and refuses the ones it does")
    func offsetDelete() async throws {
        try await withGroupTestDirectory { directory in
            try await withGroupTestBroker(dataDirectory: directory) { broker, address in
                try await createGroupTestTopic(broker, "t", partitions: 1)
                try await createGroupTestTopic(broker, "old", partitions: 1)
                let member = try await GroupTestMember.connect(to: address, groupId: "g", topic: "t")
                try await member.rebalance(partitionCount: 1)
                _ = try await member.commit(offset: 4)
                let client = try await GroupTestClient.connect(to: address)
                let generation = await member.generation
                let memberId = await member.memberId
                try await client.send(groupTestCommit("g", topic: "old", [0: 8], generation: generation, memberId: memberId), version: 7)

                var request = OffsetDeleteRequest()
                request.groupId = "g"
                request.topics = ["t", "old", "unknown"].map { name in
                    var topic = OffsetDeleteRequest.OffsetDeleteRequestTopic()
                    topic.name = name
                    var partition = OffsetDeleteRequest.OffsetDeleteRequestPartition()
                    partition.partitionIndex = 0
                    topic.partitions = [partition]
                    return topic
                }
                let response = try await client.send(request, version: 0)
                #expect(response.errorCode == 0)
                #expect(
                    response.topics.map { $0.partitions.first?.errorCode } == [
                        ErrorCode.groupSubscribedToTopic.rawValue, 0, ErrorCode.unknownTopicOrPartition.rawValue,
                    ])
                let t = try await client.send(groupTestFetch("g", topic: "t", partitions: [0]), version: 3)
                #expect(t.topics.first?.partitions.first?.committedOffset == 4)
                let old = try await client.send(groupTestFetch("g", topic: "old", partitions: [0]), version: 3)
                #expect(old.topics.first?.partitions.first?.committedOffset == -1)
                request.groupId = "missing"
                #expect(try await client.send(request, version: 0).errorCode == ErrorCode.groupIdNotFound.rawValue)
                await client.close()
                await member.close()
            }
        }
    }
}
