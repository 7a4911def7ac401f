#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Logging
import NIOCore
import NIOPosix
import SamsaProtocol
import ServiceLifecycle
import Testing

@testable import SamsaBroker

/// The admin tests' client: a ``TestConnection`` with a check that a request closes the
/// connection instead of being answered.
typealias AdminTestClient = TestConnection

extension TestConnection {
    /// Sends `request` and expects the broker to close the connection instead of answering.
    func sendExpectingClose<Request: KafkaRequestMessage>(_ request: Request, version: Int16) async throws -> Bool {
        try await write(request, version: version)
        return await isClosedByPeer()
    }
}

/// Runs in-process brokers on port 0 over temporary data directories for the admin API tests.
enum AdminTestBroker {
    /// A fresh in-memory data directory.
    static func makeDataDirectory() -> TestDataDirectory { .inMemory() }

    /// Starts a broker and its server on `dataDirectory`, connects one client, runs `body`,
    /// then shuts both down gracefully (closing the logs), so another broker can open the
    /// same directory afterwards.
    static func run<Result: Sendable>(
        dataDirectory: TestDataDirectory, configure: (inout BrokerConfiguration) -> Void = { _ in },
        _ body: (AdminTestClient, Broker) async throws -> Result
    ) async throws -> Result {
        try await withTestBroker(dataDirectory: dataDirectory, configure: configure) { broker, address in
            try await connect(to: address) { client in try await body(client, broker) }
        }
    }

    /// `run` on a fresh data directory: in memory, or on disk (removed afterwards) for tests
    /// that read the disk's size.
    static func withFreshBroker<Result: Sendable>(
        onDisk: Bool = false, configure: (inout BrokerConfiguration) -> Void = { _ in },
        _ body: (AdminTestClient, Broker) async throws -> Result
    ) async throws -> Result {
        try await withTestDirectory(prefix: "samsa-admin", onDisk: onDisk) { directory in
            try await run(dataDirectory: directory, configure: configure, body)
        }
    }

    private static func connect<Result>(
        to address: SocketAddress, _ body: (AdminTestClient) async throws -> Result
    ) async throws -> Result {
        try await TestConnection.with(address, clientId: "admin-tests", body)
    }
}

/// Request builders that keep the tests short.
enum AdminRequests {
    static func createTopic(
        _ name: String, partitions: Int32 = 1, replicationFactor: Int16 = -1, configs: [String: String?] = [:],
        assignments: [[Int32]] = []
    ) -> CreateTopicsRequest.CreatableTopic {
        var topic = CreateTopicsRequest.CreatableTopic()
        topic.name = name
        topic.numPartitions = partitions
        topic.replicationFactor = replicationFactor
        topic.configs = configs.sorted { $0.key < $1.key }.map { name, value in
            var config = CreateTopicsRequest.CreatableTopicConfig()
            config.name = name
            config.value = value
            return config
        }
        topic.assignments = assignments.enumerated().map { index, brokers in
            var assignment = CreateTopicsRequest.CreatableReplicaAssignment()
            assignment.partitionIndex = Int32(index)
            assignment.brokerIds = brokers
            return assignment
        }
        return topic
    }

    static func createTopics(_ topics: [CreateTopicsRequest.CreatableTopic], validateOnly: Bool = false) -> CreateTopicsRequest {
        var request = CreateTopicsRequest()
        request.topics = topics
        request.timeoutMs = 30_000
        request.validateOnly = validateOnly
        return request
    }

    static func describeConfigs(
        type: ConfigResourceType, name: String, keys: [String]? = nil, synonyms: Bool = false
    ) -> DescribeConfigsRequest {
        var resource = DescribeConfigsRequest.DescribeConfigsResource()
        resource.resourceType = type.rawValue
        resource.resourceName = name
        resource.configurationKeys = keys
        var request = DescribeConfigsRequest()
        request.resources = [resource]
        request.includeSynonyms = synonyms
        request.includeDocumentation = true
        return request
    }

    static func metadata(_ names: [String]?) -> MetadataRequest {
        var request = MetadataRequest()
        request.topics = names?.map { name in
            var topic = MetadataRequest.MetadataRequestTopic()
            topic.name = name
            return topic
        }
        request.allowAutoTopicCreation = false
        return request
    }
}
