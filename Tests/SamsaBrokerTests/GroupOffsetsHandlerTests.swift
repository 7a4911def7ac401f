import NIOCore
import SamsaBinary
import SamsaCoordination
import SamsaProtocol
import Testing

@testable import SamsaBroker

/// An OffsetCommit of `offsets` (partition: offset) for `topic`, outside group management
/// unless a generation and member are given.
func groupTestCommit(
    _ group: String, topic: String, _ offsets: [Int32: Int64], metadata: String? = "meta",
    generation: Int32 = -1, memberId: String = ""
) -> OffsetCommitRequest {
    var request = OffsetCommitRequest()
    request.groupId = group
    request.generationIdOrMemberEpoch = generation
    request.memberId = memberId
    var entry = OffsetCommitRequest.OffsetCommitRequestTopic()
    entry.name = topic
    entry.partitions = offsets.keys.sorted().map { index in
        var partition = OffsetCommitRequest.OffsetCommitRequestPartition()
        partition.partitionIndex = index
        partition.committedOffset = offsets[index]!
        partition.committedLeaderEpoch = 4
        partition.committedMetadata = metadata
        return partition
    }
    request.topics = [entry]
    return request
}

/// An OffsetFetch v1-7 for `topic` (nil: all partitions the group committed).
func groupTestFetch(_ group: String, topic: String, partitions: [Int32]?) -> OffsetFetchRequest {
    var request = OffsetFetchRequest()
    request.groupId = group
    request.topics = partitions.map { indexes in
        var entry = OffsetFetchRequest.OffsetFetchRequestTopic()
        entry.name = topic
        entry.partitionIndexes = indexes
        return [entry]
    }
    return request
}

@Suite("Committed offsets over the wire: OffsetCommit, OffsetFetch, restart, retention")
struct GroupOffsetsHandlerTests {
    @Test("a standalone commit round-trips offsets, leader epochs and metadata; missing partitions answer -1")
    func standaloneCommit() async throws {
        try await withGroupTestDirectory { directory in
            try await withGroupTestBroker(dataDirectory: directory) { broker, address in
                try await createGroupTestTopic(broker, "t", partitions: 3)
                let client = try await GroupTestClient.connect(to: address)
                let committed = try await client.send(groupTestCommit("g", topic: "t", [0: 10, 1: 20]), version: 2)
                #expect(committed.topics.first?.partitions.map(\.errorCode) == [0, 0])

                let v1 = try await client.send(groupTestFetch("g", topic: "t", partitions: [0, 1, 2]), version: 1)
                #expect(v1.topics.first?.partitions.map(\.committedOffset) == [10, 20, -1])
                #expect(v1.topics.first?.partitions.map(\.metadata) == ["meta", "meta", ""])
                let v5 = try await client.send(groupTestFetch("g", topic: "t", partitions: [0]), version: 5)
                #expect(v5.topics.first?.partitions.first?.committedLeaderEpoch == -1)
                #expect(v5.errorCode == 0)

                try await client.send(groupTestCommit("g", topic: "t", [2: 30], metadata: nil), version: 8)
                let all = try await client.send(groupTestFetch("g", topic: "t", partitions: nil), version: 7)
                #expect(all.topics.first?.partitions.map(\.committedOffset) == [10, 20, 30])
                #expect(all.topics.first?.partitions.map(\.committedLeaderEpoch) == [-1, -1, 4])
                #expect(all.topics.first?.partitions.last?.metadata == "")

                // v8: several groups at once, one with every partition, one unknown.
                var batched = OffsetFetchRequest()
                var first = OffsetFetchRequest.OffsetFetchRequestGroup()
                first.groupId = "g"
                first.topics = nil
                var second = OffsetFetchRequest.OffsetFetchRequestGroup()
                second.groupId = "other"
                var topic = OffsetFetchRequest.OffsetFetchRequestTopics()
                topic.name = "t"
                topic.partitionIndexes = [0]
                second.topics = [topic]
                batched.groups = [first, second]
                let v8 = try await client.send(batched, version: 8)
                #expect(v8.groups.map(\.groupId) == ["g", "other"])
                #expect(v8.groups[0].topics.first?.partitions.map(\.committedOffset) == [10, 20, 30])
                #expect(v8.groups[1].topics.first?.partitions.map(\.committedOffset) == [-1])
                await client.close()
            }
        }
    }

    @Test("OffsetCommit errors: unknown topic or partition, metadata too large, generations of unknown groups")
    func commitErrors() async throws {
        try await withGroupTestDirectory { directory in
            try await withGroupTestBroker(
                dataDirectory: directory,
                configure: { configuration in
                    fastGroupSettings(&configuration)
                    configuration.groups.offsetMetadataMaxBytes = 8
                }
            ) { broker, address in
                try await createGroupTestTopic(broker, "t", partitions: 1)
                let client = try await GroupTestClient.connect(to: address)
                let unknown = try await client.send(groupTestCommit("g", topic: "nope", [0: 1]), version: 7)
                #expect(unknown.topics.first?.partitions.first?.errorCode == ErrorCode.unknownTopicOrPartition.rawValue)
                let badPartition = try await client.send(groupTestCommit("g", topic: "t", [0: 1, 5: 1]), version: 7)
                #expect(badPartition.topics.first?.partitions.map(\.errorCode) == [0, ErrorCode.unknownTopicOrPartition.rawValue])
                let large = try await client.send(
                    groupTestCommit("g", topic: "t", [0: 1], metadata: String(repeating: "x", count: 9)), version: 7)
                #expect(large.topics.first?.partitions.first?.errorCode == ErrorCode.offsetMetadataTooLarge.rawValue)
                let v7 = try await client.send(groupTestCommit("fresh", topic: "t", [0: 1], generation: 3, memberId: "m"), version: 7)
                #expect(v7.topics.first?.partitions.first?.errorCode == ErrorCode.illegalGeneration.rawValue)
                let v9 = try await client.send(groupTestCommit("fresh", topic: "t", [0: 1], generation: 3, memberId: "m"), version: 9)
                #expect(v9.topics.first?.partitions.first?.errorCode == ErrorCode.groupIdNotFound.rawValue)

                // v10 names topics by id.
                let id = try #require(broker.core.topics.image.topic(named: "t")?.id)
                var byId = groupTestCommit("g", topic: "", [0: 77])
                byId.topics[0].topicId = id
                let v10 = try await client.send(byId, version: 10)
                #expect(v10.topics.first?.partitions.first?.errorCode == 0)
                byId.topics[0].topicId = KafkaUUID(mostSignificantBits: 1, leastSignificantBits: 2)
                #expect(
                    try await client.send(byId, version: 10).topics.first?.partitions.first?.errorCode == ErrorCode.unknownTopicId.rawValue)
                var fetch = OffsetFetchRequest()
                var group = OffsetFetchRequest.OffsetFetchRequestGroup()
                group.groupId = "g"
                var topic = OffsetFetchRequest.OffsetFetchRequestTopics()
                topic.topicId = id
                topic.partitionIndexes = [0]
                group.topics = [topic]
                fetch.groups = [group]
                let fetched = try await client.send(fetch, version: 10)
                #expect(fetched.groups.first?.topics.first?.partitions.first?.committedOffset == 77)
                #expect(fetched.groups.first?.topics.first?.topicId == id)
                await client.close()
            }
        }
    }

    @Test("members commit in their generation; stale generations and strangers are refused")
    func memberCommits() async throws {
        try await withGroupTestDirectory { directory in
            try await withGroupTestBroker(dataDirectory: directory) { broker, address in
                try await createGroupTestTopic(broker, "t", partitions: 2)
                let member = try await GroupTestMember.connect(to: address, groupId: "g", topic: "t")
                try await member.rebalance(partitionCount: 2)
                let ok = try await member.commit(offset: 5, metadata: "m")
                #expect(ok.topics.first?.partitions.map(\.errorCode) == [0, 0])
                let client = try await GroupTestClient.connect(to: address)
                let stale = try await client.send(
                    groupTestCommit("g", topic: "t", [0: 9], generation: 0, memberId: await member.memberId), version: 7)
                #expect(stale.topics.first?.partitions.first?.errorCode == ErrorCode.illegalGeneration.rawValue)
                let stranger = try await client.send(groupTestCommit("g", topic: "t", [0: 9], generation: 1, memberId: "x"), version: 7)
                #expect(stranger.topics.first?.partitions.first?.errorCode == ErrorCode.unknownMemberId.rawValue)
                let outside = try await client.send(groupTestCommit("g", topic: "t", [0: 9]), version: 7)
                #expect(outside.topics.first?.partitions.first?.errorCode == ErrorCode.unknownMemberId.rawValue)
                let fetched = try await client.send(groupTestFetch("g", topic: "t", partitions: [0, 1]), version: 6)
                #expect(fetched.topics.first?.partitions.map(\.committedOffset) == [5, 5])
                await client.close()
                await member.close()
            }
        }
    }

    @Test("committed offsets and group membership survive a broker restart")
    func restart() async throws {
        try await withGroupTestDirectory { directory in
            let (memberId, generation) = try await withGroupTestBroker(dataDirectory: directory) { broker, address in
                try await createGroupTestTopic(broker, "t", partitions: 2)
                let member = try await GroupTestMember.connect(to: address, groupId: "g", topic: "t", sessionTimeoutMs: 3000)
                try await member.rebalance(partitionCount: 2)
                _ = try await member.commit(offset: 42, metadata: "before restart")
                let client = try await GroupTestClient.connect(to: address)
                try await client.send(groupTestCommit("standalone", topic: "t", [1: 7]), version: 5)
                try await client.send(groupTestCommit("standalone", topic: "t", [1: 8]), version: 5)
                await client.close()
                await member.close()
                return (await member.memberId, await member.generation)
            }
            try await withGroupTestBroker(dataDirectory: directory) { broker, address in
                let client = try await GroupTestClient.connect(to: address)
                let fetched = try await client.send(groupTestFetch("g", topic: "t", partitions: [0, 1]), version: 6)
                #expect(fetched.topics.first?.partitions.map(\.committedOffset) == [42, 42])
                #expect(fetched.topics.first?.partitions.first?.metadata == "before restart")
                let standalone = try await client.send(groupTestFetch("standalone", topic: "t", partitions: nil), version: 6)
                #expect(standalone.topics.first?.partitions.map(\.committedOffset) == [8])

                let group = try #require(await broker.groups.group("g"))
                #expect(group.state == .stable)
                #expect(group.generationId == generation)
                #expect(group.members[memberId] != nil)
                var heartbeat = HeartbeatRequest()
                heartbeat.groupId = "g"
                heartbeat.memberId = memberId
                heartbeat.generationId = generation
                #expect(try await client.send(heartbeat, version: 2).errorCode == 0)
                // The member is gone for good: its session runs out and the group empties.
                await advanceGroupTime(broker, directory, byMilliseconds: 3000)
                let emptied = try #require(await broker.groups.group("g"))
                #expect(emptied.state == .empty)
                #expect(emptied.generationId == generation + 1)
                await client.close()
            }
        }
    }

    @Test("offsets of empty groups expire after the retention period; the group goes with them")
    func retention() async throws {
        try await withGroupTestDirectory { directory in
            try await withGroupTestBroker(
                dataDirectory: directory,
                configure: { configuration in
                    fastGroupSettings(&configuration)
                    configuration.groups.offsetsRetentionMs = 1500
                    configuration.groups.offsetsRetentionCheckIntervalMs = 50
                }
            ) { broker, address in
                try await createGroupTestTopic(broker, "t", partitions: 1)
                let client = try await GroupTestClient.connect(to: address)
                try await client.send(groupTestCommit("g", topic: "t", [0: 3]), version: 2)
                #expect(
                    try await client.send(groupTestFetch("g", topic: "t", partitions: [0]), version: 3).topics.first?.partitions.first?
                        .committedOffset == 3)
                await advanceGroupTime(broker, directory, byMilliseconds: 1499)
                #expect(await broker.groups.group("g") != nil, "kept until the retention period has passed")
                await advanceGroupTime(broker, directory, byMilliseconds: 51)
                #expect(await broker.groups.group("g") == nil)
                #expect(
                    try await client.send(groupTestFetch("g", topic: "t", partitions: [0]), version: 3).topics.first?.partitions.first?
                        .committedOffset == -1)
                #expect(await broker.groups.group("g") == nil)
                await client.close()
            }
        }
    }
}
