import NIOCore
import SamsaCoordination
import SamsaProtocol
import SamsaRecords
import SamsaStorage
import Testing

@testable import SamsaBroker

/// Versions that Kafka 3.x served and Kafka 4 dropped (KIP-896), still used by clients such as
/// sarama and kafka-go: each answers as Kafka 3.x did.
@Suite("Versions beyond Kafka 4: OffsetCommit 0-1, OffsetFetch 0, ListOffsets 0, CreateTopics 0-1, DeleteTopics 0, DescribeConfigs 0")
struct OldVersionsTests {
    typealias Fixtures = ProduceFixtures

    @Test("CreateTopics v0 and v1 (validate only), DeleteTopics v0")
    func topicsAtOldVersions() async throws {
        try await AdminTestBroker.withFreshBroker { client, broker in
            let created = try await client.send(AdminRequests.createTopics([AdminRequests.createTopic("old", partitions: 2)]), version: 0)
            #expect(created.topics.map(\.errorCode) == [0])
            #expect(broker.core.topics.image.topic(named: "old")?.partitionCount == 2)
            let again = try await client.send(AdminRequests.createTopics([AdminRequests.createTopic("old")]), version: 0)
            #expect(again.topics.first?.errorCode == ErrorCode.topicAlreadyExists.rawValue)
            let checked = try await client.send(
                AdminRequests.createTopics([AdminRequests.createTopic("planned")], validateOnly: true), version: 1)
            #expect(checked.topics.first?.errorCode == 0)
            #expect(broker.core.topics.image.topic(named: "planned") == nil, "validate only creates nothing")
            var delete = DeleteTopicsRequest()
            delete.topicNames = ["old", "missing"]
            delete.timeoutMs = 30_000
            let deleted = try await client.send(delete, version: 0)
            let codes = Dictionary(uniqueKeysWithValues: deleted.responses.map { ($0.name, $0.errorCode) })
            #expect(codes == ["old": 0, "missing": ErrorCode.unknownTopicOrPartition.rawValue])
            #expect(broker.core.topics.image.topic(named: "old") == nil)
        }
    }

    @Test("DescribeLogDirs v0 answers as v1")
    func describeLogDirsV0() async throws {
        try await AdminTestBroker.withFreshBroker { client, _ in
            _ = try await client.send(AdminRequests.createTopics([AdminRequests.createTopic("sized", partitions: 2)]), version: 0)
            var request = DescribeLogDirsRequest()
            request.topics = nil
            let response = try await client.send(request, version: 0)
            let directory = try #require(response.results.first)
            #expect(directory.errorCode == 0)
            #expect(directory.topics.first { $0.name == "sized" }?.partitions.count == 2)
        }
    }

    @Test("DescribeConfigs v0 marks defaults with IsDefault instead of a config source")
    func describeConfigsV0() async throws {
        try await AdminTestBroker.withFreshBroker { client, _ in
            _ = try await client.send(
                AdminRequests.createTopics([AdminRequests.createTopic("configured", configs: ["retention.ms": "60000"])]), version: 0)
            let response = try await client.send(AdminRequests.describeConfigs(type: .topic, name: "configured"), version: 0)
            let entries = try #require(response.results.first?.configs)
            #expect(response.results.first?.errorCode == 0)
            let retention = try #require(entries.first { $0.name == "retention.ms" })
            #expect(retention.value == "60000")
            #expect(retention.isDefault == false)
            let segment = try #require(entries.first { $0.name == "segment.bytes" })
            #expect(segment.isDefault == true)
        }
    }

    @Test("OffsetCommit v0 and v1 (with a commit timestamp) are read back by OffsetFetch v0")
    func offsetsAtOldVersions() async throws {
        try await AdminTestBroker.withFreshBroker { client, broker in
            _ = try await client.send(AdminRequests.createTopics([AdminRequests.createTopic("t", partitions: 2)]), version: 0)
            let v0 = try await client.send(groupTestCommit("legacy", topic: "t", [0: 5]), version: 0)
            #expect(v0.topics.first?.partitions.map(\.errorCode) == [0])
            var v1 = groupTestCommit("legacy", topic: "t", [1: 9])
            v1.topics[0].partitions[0].commitTimestamp = 1_600_000_000_000
            #expect(try await client.send(v1, version: 1).topics.first?.partitions.map(\.errorCode) == [0])
            let fetched = try await client.send(groupTestFetch("legacy", topic: "t", partitions: [0, 1]), version: 0)
            #expect(fetched.topics.first?.partitions.map(\.committedOffset) == [5, 9])
            let stored = await broker.groups.fetchOffsets(groupId: "legacy", partitions: nil)
            let explicit = try #require(stored[TopicPartition(topic: "t", partition: 1)])
            #expect(explicit.commitTimestamp == 1_600_000_000_000)
            #expect(explicit.expireTimestamp == 1_600_000_000_000 + broker.core.configuration.groups.offsetsRetentionMs)
        }
    }

    @Test("ListOffsets v0: latest then segment base offsets, newest first, at most MaxNumOffsets; earliest")
    func listOffsetsV0() async throws {
        try await AdminTestBroker.withFreshBroker(configure: { $0.logDefaults.segmentBytes = 1 }) { client, broker in
            _ = try await client.send(AdminRequests.createTopics([AdminRequests.createTopic("segments")]), version: 0)
            let log = try #require(broker.core.logs.log(for: TopicPartition(topic: "segments", partition: 0)))
            for index in 0..<3 {
                var builder = RecordBatchBuilder()
                builder.append(key: nil, value: ByteBuffer(string: "v\(index)"), timestamp: 1_700_000_000_000)
                builder.append(key: nil, value: ByteBuffer(string: "w\(index)"), timestamp: 1_700_000_000_000)
                _ = try log.append(try builder.build())
            }
            log.updateHighWatermark(log.logEndOffset)
            func list(_ timestamp: Int64, max: Int32) async throws -> [Int64]? {
                var partition = ListOffsetsRequest.ListOffsetsPartition()
                partition.partitionIndex = 0
                partition.timestamp = timestamp
                partition.maxNumOffsets = max
                var topic = ListOffsetsRequest.ListOffsetsTopic()
                topic.name = "segments"
                topic.partitions = [partition]
                var request = ListOffsetsRequest()
                request.replicaId = -1
                request.topics = [topic]
                let answer = try await client.send(request, version: 0).topics.first?.partitions.first
                #expect(answer?.errorCode == 0)
                return answer?.oldStyleOffsets
            }
            #expect(log.segmentBaseOffsets == [0, 2, 4], "one segment per batch")
            #expect(try await list(-1, max: 1) == [6])
            #expect(try await list(-1, max: 10) == [6, 4, 2, 0])
            #expect(try await list(-2, max: 10) == [0])
        }
    }
}
