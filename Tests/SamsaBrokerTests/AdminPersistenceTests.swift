import SamsaBinary
import SamsaProtocol
import SamsaStorage
import Testing

@testable import SamsaBroker

@Suite("Topic metadata survives a broker restart")
struct AdminPersistenceTests {
    private struct Snapshot: Equatable {
        var names: [String]
        var ids: [KafkaUUID]
        var partitionCounts: [Int]
    }

    private func snapshot(_ client: AdminTestClient) async throws -> Snapshot {
        let metadata = try await client.send(AdminRequests.metadata(nil), version: 12)
        let topics = metadata.topics.sorted { ($0.name ?? "") < ($1.name ?? "") }
        return Snapshot(names: topics.compactMap(\.name), ids: topics.map(\.topicId), partitionCounts: topics.map(\.partitions.count))
    }

    @Test("names, ids, partition counts and configs are the same after closing and reopening the data directory")
    func restart() async throws {
        let directory = AdminTestBroker.makeDataDirectory()

        let before = try await AdminTestBroker.run(dataDirectory: directory) { client, _ in
            let created = try await client.send(
                AdminRequests.createTopics([
                    AdminRequests.createTopic("kept", partitions: 2, configs: ["retention.ms": "60000"]),
                    AdminRequests.createTopic("grown", partitions: 1),
                    AdminRequests.createTopic("dropped", partitions: 3),
                ]),
                version: 7)
            #expect(created.topics.allSatisfy { $0.errorCode == 0 })

            var grow = CreatePartitionsRequest()
            var topic = CreatePartitionsRequest.CreatePartitionsTopic()
            topic.name = "grown"
            topic.count = 5
            topic.assignments = nil
            grow.topics = [topic]
            #expect(try await client.send(grow, version: 3).results[0].errorCode == 0)

            var alter = IncrementalAlterConfigsRequest()
            var resource = IncrementalAlterConfigsRequest.AlterConfigsResource()
            resource.resourceType = ConfigResourceType.topic.rawValue
            resource.resourceName = "kept"
            var config = IncrementalAlterConfigsRequest.AlterableConfig()
            config.name = "cleanup.policy"
            config.configOperation = 0
            config.value = "compact"
            resource.configs = [config]
            alter.resources = [resource]
            #expect(try await client.send(alter, version: 1).responses[0].errorCode == 0)

            var delete = DeleteTopicsRequest()
            delete.topicNames = ["dropped"]
            #expect(try await client.send(delete, version: 4).responses[0].errorCode == 0)
            return try await snapshot(client)
        }
        #expect(before.names == ["grown", "kept"])
        #expect(before.partitionCounts == [5, 2])

        try await AdminTestBroker.run(dataDirectory: directory) { client, broker in
            #expect(try await snapshot(client) == before)
            let described = try await client.send(
                AdminRequests.describeConfigs(type: .topic, name: "kept", keys: ["retention.ms", "cleanup.policy", "segment.ms"]),
                version: 4)
            let configs = Dictionary(uniqueKeysWithValues: described.results[0].configs.map { ($0.name, $0) })
            #expect(configs["retention.ms"]?.value == "60000")
            #expect(configs["retention.ms"]?.configSource == ConfigSource.topicConfig.rawValue)
            #expect(configs["cleanup.policy"]?.value == "compact")
            #expect(configs["segment.ms"]?.configSource == ConfigSource.defaultConfig.rawValue)

            // The reopened logs run with the stored overrides.
            let log = try #require(broker.core.logs.log(for: TopicPartition(topic: "kept", partition: 1)))
            #expect(log.config.retentionMilliseconds == 60_000)
            #expect(log.config.cleanupPolicy == .compact)
            #expect(broker.core.logs.partitions.filter { $0.topic == "grown" }.count == 5)
            #expect(!broker.core.logs.partitions.contains { $0.topic == "dropped" })

            // The old name is free again, with a new id.
            let again = try await client.send(AdminRequests.createTopics([AdminRequests.createTopic("dropped")]), version: 7)
            #expect(again.topics[0].errorCode == 0)
        }
    }
}
