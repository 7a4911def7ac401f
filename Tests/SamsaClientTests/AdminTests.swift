import NIOCore
import SamsaProtocol
import SamsaTesting
import Testing

@testable import SamsaClient

/// The admin client against a real broker.
@Suite("Admin", .timeLimit(.minutes(1)))
struct AdminTests {
    @Test("topics: create with configs, list, describe, add partitions, alter configs, delete; errors name the topic")
    func topics() async throws {
        try await SamsaTestCluster.with { cluster in
            let admin = KafkaAdmin(configuration: try ClientConfiguration(bootstrapServers: cluster.bootstrapServers))
            try await admin.createTopic(NewTopic(name: "events", partitions: 2, configs: ["retention.ms": "3600000"]))
            #expect(try await admin.listTopics() == ["events"])
            #expect(try await admin.describeTopics(["events"]).first?.partitions.count == 2)
            try await admin.createPartitions(topic: "events", totalCount: 5)
            #expect(try await admin.describeTopics(["events"]).first?.partitions.count == 5)
            #expect(try await admin.describeTopicConfigs("events")["retention.ms"]?.value == "3600000")
            try await admin.alterTopicConfigs("events", ["retention.ms": nil, "cleanup.policy": "compact"])
            let configs = try await admin.describeTopicConfigs("events")
            #expect(configs["cleanup.policy"]?.value == "compact")
            #expect(configs["retention.ms"]?.isDefault == true)
            do {
                try await admin.createTopic(NewTopic(name: "events", partitions: 1))
                Issue.record("creating an existing topic succeeded")
            } catch let error as KafkaError {
                #expect(error.code == .topicAlreadyExists && error.topic == "events")
            }
            try await admin.deleteTopics(["events"])
            #expect(try await admin.listTopics().isEmpty)
            let description = try await admin.describeCluster()
            #expect(description.brokers.count == 1 && description.clusterId != nil)
            await admin.close()
        }
    }

    @Test("groups: list, describe members and assignments, lag, reset and delete offsets, delete the group; delete records")
    func groups() async throws {
        try await SamsaTestCluster.with { cluster in
            let client = try ClientConfiguration(bootstrapServers: cluster.bootstrapServers)
            let admin = KafkaAdmin(configuration: client)
            try await admin.createTopic(NewTopic(name: "jobs", partitions: 2))
            let producer = try KafkaProducer(configuration: ProducerConfiguration(client: client))
            for index in 0..<20 {
                try await producer.sendWithoutWaiting(ProducerRecord(topic: "jobs", value: "\(index)", partition: Int32(index % 2)))
            }
            await producer.flush()
            await producer.close()

            var configuration = ConsumerConfiguration(client: client, groupId: "workers")
            configuration.autoOffsetReset = .earliest
            configuration.heartbeatIntervalMs = 50
            let consumer = try KafkaConsumer(configuration: configuration)
            var events = consumer.rebalanceEvents.makeAsyncIterator()
            try consumer.subscribe(["jobs"])
            _ = await events.next()
            var read = 0
            for try await _ in consumer.records {
                read += 1
                if read == 12 { break }
            }
            try await consumer.commit()
            #expect(try await admin.listGroups().map(\.groupId) == ["workers"])
            let group = try await admin.describeGroup("workers")
            #expect(group.state == "Stable" && group.protocol == "range" && group.members.count == 1)
            #expect(group.members.first?.assignment == [TopicPartition("jobs", 0), TopicPartition("jobs", 1)])
            let lag = try await admin.lag(group: "workers")
            #expect(lag.values.reduce(0) { $0 + $1.lag } == 8)
            #expect(lag.values.allSatisfy { $0.end == 10 })
            await consumer.close()

            try await admin.alterGroupOffsets("workers", [TopicPartition("jobs", 0): 3])
            #expect(try await admin.groupOffsets("workers")[TopicPartition("jobs", 0)] == 3)
            try await admin.deleteGroupOffsets("workers", [TopicPartition("jobs", 1)])
            #expect(try await admin.groupOffsets("workers")[TopicPartition("jobs", 1)] == nil)
            try await admin.deleteGroup("workers")
            #expect(try await admin.listGroups().isEmpty)

            let starts = try await admin.deleteRecords(before: [TopicPartition("jobs", 0): 4])
            #expect(starts[TopicPartition("jobs", 0)] == 4)
            #expect(try await admin.listOffsets([TopicPartition("jobs", 0): .earliest]) == [TopicPartition("jobs", 0): 4])
            await admin.close()
        }
    }

    @Test("the cluster's features: transaction.version supported 0-2 and finalized at 2")
    func features() async throws {
        try await SamsaTestCluster.with { cluster in
            let admin = KafkaAdmin(configuration: try ClientConfiguration(bootstrapServers: cluster.bootstrapServers))
            let features = try await admin.features()
            #expect(features.supported["transaction.version"] == 0...2)
            #expect(features.finalized["transaction.version"] == 2...2)
            await admin.close()
        }
    }
}
