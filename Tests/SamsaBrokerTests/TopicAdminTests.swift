import SamsaBinary
import SamsaProtocol
import SamsaStorage
import SamsaTesting
import Testing

@testable import SamsaBroker

@Suite("CreateTopics, DeleteTopics and CreatePartitions over a socket")
struct TopicAdminTests {
    @Test("CreateTopics v7 creates topics and returns ids, counts and the full config list")
    func createTopics() async throws {
        try await AdminTestBroker.withFreshBroker { client, broker in
            let request = AdminRequests.createTopics([
                AdminRequests.createTopic("orders", partitions: 3, configs: ["retention.ms": "3600000", "cleanup.policy": "compact"]),
                AdminRequests.createTopic("defaults", partitions: -1, replicationFactor: 1),
            ])
            let response = try await client.send(request, version: 7)
            #expect(response.topics.map(\.name) == ["orders", "defaults"])
            let orders = response.topics[0]
            #expect(orders.errorCode == 0)
            #expect(orders.errorMessage == nil)
            #expect(orders.numPartitions == 3)
            #expect(orders.replicationFactor == 1)
            #expect(orders.topicId == broker.core.topics.image.topic(named: "orders")?.id)
            #expect(!orders.topicId.isZero)
            let configs = try #require(orders.configs)
            #expect(configs.count == TopicConfigs.definitions.count)
            #expect(configs.map(\.name) == configs.map(\.name).sorted())
            let retention = try #require(configs.first { $0.name == "retention.ms" })
            #expect(retention.value == "3600000")
            #expect(retention.configSource == ConfigSource.topicConfig.rawValue)
            let segment = try #require(configs.first { $0.name == "segment.bytes" })
            #expect(segment.value == "1073741824")
            #expect(segment.configSource == ConfigSource.defaultConfig.rawValue)
            #expect(response.topics[1].numPartitions == 1)

            let logs = broker.core.logs.partitions.filter { $0.topic == "orders" }
            #expect(logs.map(\.partition) == [0, 1, 2])
            let log = try #require(broker.core.logs.log(for: .init(topic: "orders", partition: 2)))
            #expect(log.config.retentionMilliseconds == 3_600_000)
            #expect(log.config.cleanupPolicy == .compact)

            // The same name again, and at an older version without the v5 fields.
            let again = try await client.send(AdminRequests.createTopics([AdminRequests.createTopic("orders")]), version: 2)
            #expect(again.topics[0].errorCode == ErrorCode.topicAlreadyExists.rawValue)
            #expect(again.topics[0].errorMessage == "Topic 'orders' already exists.")
        }
    }

    @Test("CreateTopics rejects bad names, counts, replication factors, assignments and configs as Kafka does")
    func createTopicsErrors() async throws {
        try await AdminTestBroker.withFreshBroker { client, broker in
            _ = try await client.send(AdminRequests.createTopics([AdminRequests.createTopic("a.b")]), version: 7)
            let cases: [(CreateTopicsRequest.CreatableTopic, ErrorCode, String)] = [
                (
                    AdminRequests.createTopic("bad name!"), .invalidTopicException,
                    "Topic name \"bad name!\" is illegal, it contains a character other than ASCII alphanumerics, '.', '_' and '-'"
                ),
                (AdminRequests.createTopic(""), .invalidTopicException, "Topic name is illegal, it can't be empty"),
                (AdminRequests.createTopic("a_b"), .invalidTopicException, "Topic 'a_b' collides with existing topic: a.b"),
                (
                    AdminRequests.createTopic("zero", partitions: 0), .invalidPartitions,
                    "Number of partitions was set to an invalid non-positive value."
                ),
                (
                    AdminRequests.createTopic("rf0", replicationFactor: 0), .invalidReplicationFactor,
                    "Replication factor must be larger than 0, or -1 to use the default value."
                ),
                (
                    AdminRequests.createTopic("rf3", replicationFactor: 3), .invalidReplicationFactor,
                    "Unable to replicate the partition 3 time(s): The target replication factor of 3 cannot be reached because only 1 broker(s) are registered."
                ),
                (
                    AdminRequests.createTopic("unknown-config", configs: ["retention.hours": "1"]), .invalidConfig,
                    "Unknown topic config name: retention.hours"
                ),
                (
                    AdminRequests.createTopic("bad-value", configs: ["retention.ms": "soon"]), .invalidConfig,
                    "Invalid value soon for configuration retention.ms: Not a number of type LONG"
                ),
                (
                    AdminRequests.createTopic("bad-policy", configs: ["cleanup.policy": "shred"]), .invalidConfig,
                    "Invalid value shred for configuration cleanup.policy: String must be one of: compact, delete"
                ),
                (
                    AdminRequests.createTopic("null-config", configs: ["retention.ms": nil]), .invalidConfig,
                    "Null value not supported for topic configs: retention.ms"
                ),
                (
                    AdminRequests.createTopic("remote", configs: ["remote.storage.enable": "true"]), .invalidConfig,
                    "Tiered Storage functionality is disabled in the broker. Topic cannot be configured with remote log storage."
                ),
                (
                    AdminRequests.createTopic("other-broker", partitions: -1, assignments: [[2]]), .invalidReplicaAssignment,
                    "The manual partition assignment includes broker 2, but no such broker is registered."
                ),
                (
                    AdminRequests.createTopic("twice", partitions: -1, assignments: [[1, 1]]), .invalidReplicaAssignment,
                    "The manual partition assignment includes the broker 1 more than once."
                ),
                (
                    AdminRequests.createTopic("empty", partitions: -1, assignments: [[]]), .invalidReplicaAssignment,
                    "The manual partition assignment includes an empty replica list."
                ),
                (
                    AdminRequests.createTopic("count-and-assignments", partitions: 2, assignments: [[1]]), .invalidRequest,
                    "A manual partition assignment was specified, but numPartitions was not set to -1."
                ),
            ]
            let response = try await client.send(AdminRequests.createTopics(cases.map(\.0)), version: 5)
            #expect(response.topics.count == cases.count)
            for (result, expected) in zip(response.topics, cases) {
                #expect(result.name == expected.0.name)
                #expect(result.errorCode == expected.1.rawValue, "\(result.name)")
                #expect(result.errorMessage == expected.2)
                #expect(result.numPartitions == -1)
            }
            #expect(broker.core.topics.image.topics.map(\.name) == ["a.b"])
        }
    }

    @Test("manual assignments of this broker create one partition each; gaps are rejected")
    func manualAssignments() async throws {
        try await AdminTestBroker.withFreshBroker { client, broker in
            var gap = AdminRequests.createTopic("gap", partitions: -1, assignments: [[1], [1]])
            gap.assignments[1].partitionIndex = 2
            let response = try await client.send(
                AdminRequests.createTopics([AdminRequests.createTopic("assigned", partitions: -1, assignments: [[1], [1]]), gap]),
                version: 6)
            #expect(response.topics[0].errorCode == 0)
            #expect(response.topics[0].numPartitions == 2)
            #expect(response.topics[1].errorCode == ErrorCode.invalidReplicaAssignment.rawValue)
            #expect(response.topics[1].errorMessage == "partitions should be a consecutive 0-based integer sequence")
            #expect(broker.core.topics.image.topic(named: "assigned")?.partitionCount == 2)
        }
    }

    @Test("a name repeated in one request gets one INVALID_REQUEST; validate-only creates nothing")
    func duplicatesAndValidateOnly() async throws {
        try await AdminTestBroker.withFreshBroker { client, broker in
            let duplicate = AdminRequests.createTopics([
                AdminRequests.createTopic("twice"), AdminRequests.createTopic("once"), AdminRequests.createTopic("twice"),
            ])
            let response = try await client.send(duplicate, version: 4)
            #expect(response.topics.map(\.name) == ["once", "twice"])
            #expect(response.topics[0].errorCode == 0)
            #expect(response.topics[1].errorCode == ErrorCode.invalidRequest.rawValue)
            #expect(response.topics[1].errorMessage == KafkaMessage.duplicateTopicName)

            let validate = AdminRequests.createTopics([AdminRequests.createTopic("dry", partitions: 4)], validateOnly: true)
            let dry = try await client.send(validate, version: 7)
            #expect(dry.topics[0].errorCode == 0)
            #expect(dry.topics[0].numPartitions == 4)
            #expect(broker.core.topics.image.topic(named: "dry") == nil)
            #expect(!broker.core.logs.partitions.contains { $0.topic == "dry" })
        }
    }

    @Test("DeleteTopics by name (v1-5) and by name or id (v6), with Kafka's errors")
    func deleteTopics() async throws {
        try await AdminTestBroker.withFreshBroker { client, broker in
            let create = AdminRequests.createTopics(["a", "b", "c", "d"].map { AdminRequests.createTopic($0, partitions: 2) })
            _ = try await client.send(create, version: 7)
            let image = broker.core.topics.image
            let idB = try #require(image.topic(named: "b")?.id)

            var byName = DeleteTopicsRequest()
            byName.topicNames = ["a", "missing"]
            let deleted = try await client.send(byName, version: 5)
            #expect(deleted.responses.count == 2)
            let a = try #require(deleted.responses.first { $0.name == "a" })
            #expect(a.errorCode == 0)
            let missing = try #require(deleted.responses.first { $0.name == "missing" })
            #expect(missing.errorCode == ErrorCode.unknownTopicOrPartition.rawValue)
            #expect(broker.core.topics.image.topic(named: "a") == nil)
            #expect(!broker.core.logs.partitions.contains { $0.topic == "a" })

            func state(_ name: String?, _ id: KafkaUUID) -> DeleteTopicsRequest.DeleteTopicState {
                var state = DeleteTopicsRequest.DeleteTopicState()
                state.name = name
                state.topicId = id
                return state
            }
            var generator = SplitMix64(seed: 0xD15EA5E)  // any id the broker does not know
            let unknownID = KafkaUUID.random(using: &generator)
            var v6 = DeleteTopicsRequest()
            v6.topics = [
                state(nil, idB), state("c", .zero), state(nil, unknownID), state(nil, .zero), state("d", idB),
                state("e", .zero), state("e", .zero),
            ]
            let answer = try await client.send(v6, version: 6)
            func result(_ name: String?, _ id: KafkaUUID) -> DeleteTopicsResponse.DeletableTopicResult? {
                answer.responses.first { $0.name == name && $0.topicId == id }
            }
            #expect(answer.responses.count == 6)
            #expect(result("b", idB)?.errorCode == 0)
            #expect(result("c", try #require(image.topic(named: "c")?.id))?.errorCode == 0)
            #expect(result(nil, unknownID)?.errorCode == ErrorCode.unknownTopicId.rawValue)
            #expect(result(nil, .zero)?.errorMessage == "Neither topic name nor id were specified.")
            #expect(result("d", idB)?.errorMessage == "You may not specify both topic name and topic id.")
            #expect(result("e", .zero)?.errorMessage == KafkaMessage.duplicateTopicName)
            #expect(broker.core.topics.image.topics.map(\.name) == ["d"])
        }
    }

    @Test("CreatePartitions grows a topic durably and rejects what Kafka rejects")
    func createPartitions() async throws {
        try await AdminTestBroker.withFreshBroker { client, broker in
            _ = try await client.send(AdminRequests.createTopics([AdminRequests.createTopic("grow", partitions: 2)]), version: 7)
            func topic(_ name: String, _ count: Int32, _ assignments: [[Int32]]? = nil) -> CreatePartitionsRequest.CreatePartitionsTopic {
                var topic = CreatePartitionsRequest.CreatePartitionsTopic()
                topic.name = name
                topic.count = count
                topic.assignments = assignments?.map { brokers in
                    var assignment = CreatePartitionsRequest.CreatePartitionsAssignment()
                    assignment.brokerIds = brokers
                    return assignment
                }
                return topic
            }
            var dry = CreatePartitionsRequest()
            dry.topics = [topic("grow", 3)]
            dry.validateOnly = true
            #expect(try await client.send(dry, version: 3).results[0].errorCode == 0)
            #expect(broker.core.topics.image.topic(named: "grow")?.partitionCount == 2)

            var request = CreatePartitionsRequest()
            request.topics = [topic("grow", 4, [[1], [1]])]
            let grown = try await client.send(request, version: 0)
            #expect(grown.results.map(\.errorCode) == [0])
            #expect(broker.core.topics.image.topic(named: "grow")?.partitionCount == 4)
            #expect(broker.core.logs.partitions.filter { $0.topic == "grow" }.map(\.partition) == [0, 1, 2, 3])

            var bad = CreatePartitionsRequest()
            bad.topics = [
                topic("grow", 4), topic("grow-less", 1), topic("missing", 5), topic("dup", 2), topic("dup", 3),
            ]
            _ = try await client.send(AdminRequests.createTopics([AdminRequests.createTopic("grow-less", partitions: 3)]), version: 7)
            let answer = try await client.send(bad, version: 2)
            #expect(answer.results.map(\.name) == ["grow", "grow-less", "missing", "dup"])
            #expect(answer.results[0].errorCode == ErrorCode.invalidPartitions.rawValue)
            #expect(answer.results[0].errorMessage == "Topic already has 4 partition(s).")
            #expect(answer.results[1].errorMessage == "The topic grow-less currently has 3 partition(s); 1 would not be an increase.")
            #expect(answer.results[2].errorCode == ErrorCode.unknownTopicOrPartition.rawValue)
            #expect(answer.results[3].errorCode == ErrorCode.invalidRequest.rawValue)

            var assignments = CreatePartitionsRequest()
            assignments.topics = [topic("grow", 6, [[1]]), topic("grow-less", 4, [[7]])]
            let rejected = try await client.send(assignments, version: 3)
            #expect(rejected.results[0].errorCode == ErrorCode.invalidReplicaAssignment.rawValue)
            #expect(
                rejected.results[0].errorMessage == "Attempted to add 2 additional partition(s), but only 1 assignment(s) were specified.")
            #expect(
                rejected.results[1].errorMessage == "The manual partition assignment includes broker 7, but no such broker is registered.")
        }
    }
}
