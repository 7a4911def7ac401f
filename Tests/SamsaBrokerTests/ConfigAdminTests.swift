import SamsaProtocol
import SamsaStorage
import Testing

@testable import SamsaBroker

@Suite("DescribeConfigs, AlterConfigs and IncrementalAlterConfigs over a socket")
struct ConfigAdminTests {
    private func createTopic(_ client: AdminTestClient, _ name: String, configs: [String: String?] = [:]) async throws {
        let response = try await client.send(
            AdminRequests.createTopics([AdminRequests.createTopic(name, partitions: 2, configs: configs)]), version: 7)
        #expect(response.topics[0].errorCode == 0)
    }

    private func alter(
        _ type: ConfigResourceType, _ name: String, _ configs: [(String, String?)], validateOnly: Bool = false
    ) -> AlterConfigsRequest {
        var resource = AlterConfigsRequest.AlterConfigsResource()
        resource.resourceType = type.rawValue
        resource.resourceName = name
        resource.configs = configs.map { name, value in
            var config = AlterConfigsRequest.AlterableConfig()
            config.name = name
            config.value = value
            return config
        }
        var request = AlterConfigsRequest()
        request.resources = [resource]
        request.validateOnly = validateOnly
        return request
    }

    private func incremental(
        _ type: ConfigResourceType, _ name: String, _ operations: [(String, Int8, String?)], validateOnly: Bool = false
    ) -> IncrementalAlterConfigsRequest {
        var resource = IncrementalAlterConfigsRequest.AlterConfigsResource()
        resource.resourceType = type.rawValue
        resource.resourceName = name
        resource.configs = operations.map { name, operation, value in
            var config = IncrementalAlterConfigsRequest.AlterableConfig()
            config.name = name
            config.configOperation = operation
            config.value = value
            return config
        }
        var request = IncrementalAlterConfigsRequest()
        request.resources = [resource]
        request.validateOnly = validateOnly
        return request
    }

    private func topicConfigs(
        _ client: AdminTestClient, _ name: String
    ) async throws -> [String: DescribeConfigsResponse.DescribeConfigsResourceResult] {
        let response = try await client.send(AdminRequests.describeConfigs(type: .topic, name: name), version: 4)
        #expect(response.results[0].errorCode == 0)
        return Dictionary(uniqueKeysWithValues: response.results[0].configs.map { ($0.name, $0) })
    }

    @Test("DescribeConfigs lists every topic config with value, source, type and synonyms")
    func describeTopic() async throws {
        try await AdminTestBroker.withFreshBroker(configure: { $0.logDefaults.segmentBytes = 64 << 20 }) { client, _ in
            try await createTopic(client, "described", configs: ["retention.ms": "1000"])
            let response = try await client.send(AdminRequests.describeConfigs(type: .topic, name: "described", synonyms: true), version: 4)
            let result = try #require(response.results.first)
            #expect(result.errorCode == 0)
            #expect(result.resourceType == ConfigResourceType.topic.rawValue)
            #expect(result.resourceName == "described")
            #expect(result.configs.map(\.name) == TopicConfigs.definitions.map(\.name))
            let configs = Dictionary(uniqueKeysWithValues: result.configs.map { ($0.name, $0) })

            let retention = try #require(configs["retention.ms"])
            #expect(retention.value == "1000")
            #expect(retention.configSource == ConfigSource.topicConfig.rawValue)
            #expect(retention.configType == ConfigType.long.rawValue)
            #expect(!retention.readOnly && !retention.isSensitive)
            #expect(retention.documentation == nil)
            #expect(retention.synonyms.map(\.name) == ["retention.ms", "log.retention.ms"])
            #expect(retention.synonyms.map(\.source) == [ConfigSource.topicConfig.rawValue, ConfigSource.defaultConfig.rawValue])

            let segment = try #require(configs["segment.bytes"])
            #expect(segment.value == String(64 << 20))
            #expect(segment.configSource == ConfigSource.staticBrokerConfig.rawValue)
            #expect(segment.synonyms.first?.name == "log.segment.bytes")

            let policy = try #require(configs["cleanup.policy"])
            #expect(policy.value == "delete")
            #expect(policy.configSource == ConfigSource.defaultConfig.rawValue)
            #expect(policy.configType == ConfigType.list.rawValue)
            #expect(configs["min.cleanable.dirty.ratio"]?.value == "0.5")
            #expect(configs["message.downconversion.enable"] == nil)

            // Specific keys, unknown keys left out; v1 without types.
            let some = try await client.send(
                AdminRequests.describeConfigs(type: .topic, name: "described", keys: ["segment.ms", "no.such.config"]), version: 1)
            #expect(some.results[0].configs.map(\.name) == ["segment.ms"])
            #expect(some.results[0].configs[0].synonyms.isEmpty)
        }
    }

    @Test("DescribeConfigs errors: unknown topic, bad name, wrong broker id, unsupported type")
    func describeErrors() async throws {
        try await AdminTestBroker.withFreshBroker { client, _ in
            var request = DescribeConfigsRequest()
            let resources: [(ConfigResourceType, String)] = [
                (.topic, "missing"), (.topic, "bad/name"), (.broker, "2"), (.broker, "one"), (.group, "g"), (.broker, ""),
            ]
            request.resources = resources.map { type, name in
                var resource = DescribeConfigsRequest.DescribeConfigsResource()
                resource.resourceType = type.rawValue
                resource.resourceName = name
                resource.configurationKeys = nil
                return resource
            }
            let results = try await client.send(request, version: 2).results
            #expect(results.map(\.resourceName) == resources.map(\.1))
            #expect(results[0].errorCode == ErrorCode.unknownTopicOrPartition.rawValue)
            #expect(results[1].errorCode == ErrorCode.invalidTopicException.rawValue)
            #expect(results[2].errorCode == ErrorCode.invalidRequest.rawValue)
            #expect(results[2].errorMessage == "Unexpected broker id, expected 1 or empty string, but received 2")
            #expect(results[3].errorMessage == "Broker id must be an integer, but it is: one")
            #expect(results[4].errorMessage == "Unsupported resource type: GROUP")
            #expect(results[5].errorCode == 0)
            #expect(results[5].configs.isEmpty)
        }
    }

    @Test("DescribeConfigs on this broker lists its configs with their sources")
    func describeBroker() async throws {
        try await AdminTestBroker.withFreshBroker(configure: { $0.defaultPartitionCount = 3 }) { client, broker in
            let response = try await client.send(AdminRequests.describeConfigs(type: .broker, name: "1", synonyms: true), version: 4)
            let configs = Dictionary(uniqueKeysWithValues: response.results[0].configs.map { ($0.name, $0) })
            #expect(configs["num.partitions"]?.value == "3")
            #expect(configs["num.partitions"]?.configSource == ConfigSource.staticBrokerConfig.rawValue)
            #expect(configs["num.partitions"]?.synonyms.map(\.source) == [4, 5])
            #expect(configs["auto.create.topics.enable"]?.value == "true")
            #expect(configs["auto.create.topics.enable"]?.configSource == ConfigSource.defaultConfig.rawValue)
            #expect(configs["node.id"]?.value == "1")
            #expect(configs["log.dirs"]?.value == broker.core.configuration.dataDirectory)
            #expect(configs["log.retention.ms"]?.value == "604800000")
            #expect(configs["message.max.bytes"]?.configType == ConfigType.int.rawValue)
            #expect(configs["default.replication.factor"]?.value == "1")
            #expect(configs.values.allSatisfy { $0.readOnly })
            for name in ["socket.request.max.bytes", "log.segment.bytes", "log.cleanup.policy", "offsets.topic.replication.factor"] {
                #expect(configs[name] != nil, "\(name)")
            }
        }
    }

    @Test("AlterConfigs replaces a topic's overrides, durably and in the live logs; validate-only changes nothing")
    func alterConfigs() async throws {
        try await AdminTestBroker.withFreshBroker { client, broker in
            try await createTopic(client, "altered", configs: ["retention.ms": "1000", "segment.ms": "5000"])
            let dry = try await client.send(alter(.topic, "altered", [("retention.bytes", "2048")], validateOnly: true), version: 0)
            #expect(dry.responses[0].errorCode == 0)
            #expect(broker.core.topics.image.topic(named: "altered")?.configs == ["retention.ms": "1000", "segment.ms": "5000"])

            let response = try await client.send(
                alter(.topic, "altered", [("retention.bytes", " 2048 "), ("cleanup.policy", "compact, delete")]), version: 2)
            #expect(response.responses[0].errorCode == 0)
            #expect(response.responses[0].errorMessage == nil)
            #expect(
                broker.core.topics.image.topic(named: "altered")?.configs == [
                    "retention.bytes": "2048", "cleanup.policy": "compact,delete",
                ])
            let log = try #require(broker.core.logs.log(for: TopicPartition(topic: "altered", partition: 1)))
            #expect(log.config.retentionBytes == 2048)
            #expect(log.config.retentionMilliseconds == 604_800_000)
            #expect(log.config.cleanupPolicy == [.compact, .delete])
            let configs = try await topicConfigs(client, "altered")
            #expect(configs["retention.ms"]?.configSource == ConfigSource.defaultConfig.rawValue)
            #expect(configs["retention.bytes"]?.value == "2048")
        }
    }

    @Test("AlterConfigs errors: invalid values, unknown topic, duplicates, nulls, broker configs")
    func alterConfigsErrors() async throws {
        try await AdminTestBroker.withFreshBroker { client, broker in
            try await createTopic(client, "kept", configs: ["retention.ms": "1000"])
            let cases: [(AlterConfigsRequest, ErrorCode, String)] = [
                (
                    alter(.topic, "kept", [("segment.ms", "0")]), .invalidConfig,
                    "Invalid value 0 for configuration segment.ms: Value must be at least 1"
                ),
                (
                    alter(.topic, "kept", [("preallocate", "maybe")]), .invalidConfig,
                    "Invalid value maybe for configuration preallocate: Expected value to be either true or false"
                ),
                (alter(.topic, "kept", [("no.such", "1")]), .invalidConfig, "Unknown topic config name: no.such"),
                (alter(.topic, "missing", []), .unknownTopicOrPartition, "The topic 'missing' does not exist."),
                (
                    alter(.topic, "kept", [("retention.ms", "1"), ("retention.ms", "2")]), .invalidRequest,
                    "Error due to duplicate config keys"
                ),
                (alter(.topic, "kept", [("retention.ms", nil)]), .invalidRequest, "Null value not supported for : retention.ms"),
                (alter(.broker, "2", [("num.partitions", "3")]), .invalidRequest, "Unexpected broker id, expected 1, but received 2"),
                (alter(.brokerLogger, "1", []), .invalidRequest, "Unknown resource type 8"),
            ]
            for (request, code, message) in cases {
                let response = try await client.send(request, version: 1)
                #expect(response.responses[0].errorCode == code.rawValue, "\(message)")
                #expect(response.responses[0].errorMessage == message)
            }
            let brokerChange = try await client.send(alter(.broker, "1", [("log.retention.ms", "1000")]), version: 1)
            #expect(brokerChange.responses[0].errorCode == ErrorCode.invalidRequest.rawValue)
            #expect(brokerChange.responses[0].errorMessage?.contains("does not support dynamic broker configs") == true)
            #expect(try await client.send(alter(.broker, "", []), version: 1).responses[0].errorCode == 0)
            #expect(broker.core.topics.image.topic(named: "kept")?.configs == ["retention.ms": "1000"])

            var twice = alter(.topic, "kept", [("retention.ms", "5")])
            twice.resources.append(twice.resources[0])
            let repeated = try await client.send(twice, version: 0)
            #expect(repeated.responses.map(\.errorMessage) == Array(repeating: "Each resource must appear at most once.", count: 2))
        }
    }

    @Test("IncrementalAlterConfigs SET, DELETE, APPEND and SUBTRACT")
    func incrementalAlterConfigs() async throws {
        try await AdminTestBroker.withFreshBroker { client, broker in
            try await createTopic(client, "inc", configs: ["retention.ms": "1000", "segment.ms": "5000"])
            let set: Int8 = 0
            let delete: Int8 = 1
            let append: Int8 = 2
            let subtract: Int8 = 3
            let first = try await client.send(
                incremental(
                    .topic, "inc", [("max.message.bytes", set, "2048"), ("segment.ms", delete, nil), ("cleanup.policy", append, "compact")]),
                version: 1)
            #expect(first.responses[0].errorCode == 0)
            #expect(
                broker.core.topics.image.topic(named: "inc")?.configs == [
                    "retention.ms": "1000", "max.message.bytes": "2048", "cleanup.policy": "delete,compact",
                ])
            let log = try #require(broker.core.logs.log(for: TopicPartition(topic: "inc", partition: 0)))
            #expect(log.config.maxBatchBytes == 2048)
            #expect(log.config.cleanupPolicy == [.compact, .delete])

            let second = try await client.send(incremental(.topic, "inc", [("cleanup.policy", subtract, "delete")]), version: 0)
            #expect(second.responses[0].errorCode == 0)
            #expect(broker.core.topics.image.topic(named: "inc")?.configs["cleanup.policy"] == "compact")
            #expect(log.config.cleanupPolicy == .compact)

            let dry = try await client.send(incremental(.topic, "inc", [("retention.ms", set, "7")], validateOnly: true), version: 1)
            #expect(dry.responses[0].errorCode == 0)
            #expect(broker.core.topics.image.topic(named: "inc")?.configs["retention.ms"] == "1000")

            let cases: [(IncrementalAlterConfigsRequest, ErrorCode, String)] = [
                (
                    incremental(.topic, "inc", [("retention.ms", append, "5")]), .invalidConfig,
                    "Can't APPEND to key retention.ms because its type is not LIST."
                ),
                (incremental(.topic, "inc", [("retention.ms", 9, "5")]), .invalidRequest, "Unknown operations type 9"),
                (
                    incremental(.topic, "inc", [("retention.ms", set, "-5")]), .invalidConfig,
                    "Invalid value -5 for configuration retention.ms: Value must be at least -1"
                ),
                (incremental(.topic, "inc", [("retention.ms", set, nil)]), .invalidRequest, "Null value not supported for : retention.ms"),
                (incremental(.topic, "gone", [("retention.ms", set, "5")]), .unknownTopicOrPartition, "The topic 'gone' does not exist."),
                (incremental(.topic, "", [("retention.ms", set, "5")]), .invalidRequest, "Default topic resources are not allowed."),
                (
                    incremental(.brokerLogger, "1", [("root", set, "DEBUG")]), .invalidRequest,
                    "Changing log levels at run time is not supported by this broker"
                ),
                (incremental(.unknown, "x", []), .invalidRequest, "Unknown resource type 0"),
            ]
            for (request, code, message) in cases {
                let response = try await client.send(request, version: 1)
                #expect(response.responses[0].errorCode == code.rawValue, "\(message)")
                #expect(response.responses[0].errorMessage == message)
            }
            #expect(
                try await client.send(incremental(.broker, "1", [("log.retention.ms", delete, nil)]), version: 1).responses[0].errorCode
                    == 0)
            #expect(
                try await client.send(incremental(.broker, "", [("log.retention.ms", set, "5")]), version: 1).responses[0].errorCode
                    == ErrorCode.invalidRequest.rawValue)
        }
    }
}
