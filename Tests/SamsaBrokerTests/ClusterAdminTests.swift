import NIOCore
import SamsaProtocol
import SamsaRecords
import SamsaStorage
import Testing

@testable import SamsaBroker

@Suite("DescribeCluster, DescribeLogDirs and DeleteRecords over a socket")
struct ClusterAdminTests {
    /// Appends `count` one-record batches to `topic`-`partition` through the broker's log.
    private func append(_ broker: Broker, _ topic: String, partition: Int32, count: Int) async throws {
        let log = try #require(broker.core.logs.log(for: TopicPartition(topic: topic, partition: partition)))
        try await broker.core.blocking.run {
            for index in 0..<count {
                var builder = RecordBatchBuilder()
                builder.append(key: nil, value: ByteBuffer(string: "value-\(index)"), timestamp: 1_700_000_000_000)
                _ = try log.append(try builder.build())
            }
        }
    }

    @Test("ApiVersions advertises the admin APIs at their ranges; an API that is not served closes the connection")
    func advertisedVersions() async throws {
        try await AdminTestBroker.withFreshBroker { client, _ in
            let response = try await client.send(ApiVersionsRequest(), version: 3)
            let ranges = Dictionary(uniqueKeysWithValues: response.apiKeys.map { ($0.apiKey, $0.minVersion...$0.maxVersion) })
            let expected: [Int16: ClosedRange<Int16>] = [
                19: 0...7, 20: 0...6, 21: 0...2, 29: 0...3, 30: 0...3, 31: 0...3, 32: 0...4, 33: 0...2, 35: 0...4, 37: 0...3,
                44: 0...1, 50: 0...0, 51: 0...0, 60: 0...2,
            ]
            for (key, range) in expected {
                #expect(ranges[key] == range, "api key \(key)")
            }
            // A single broker has no partition reassignments to list.
            #expect(try await client.sendExpectingClose(ListPartitionReassignmentsRequest(), version: 0))
        }
    }

    @Test("DescribeCluster names this broker, the cluster id and the controller at every version")
    func describeCluster() async throws {
        try await AdminTestBroker.withFreshBroker { client, broker in
            for version: Int16 in 0...2 {
                var request = DescribeClusterRequest()
                request.includeClusterAuthorizedOperations = version == 1
                request.includeFencedBrokers = true
                let response = try await client.send(request, version: version)
                #expect(response.errorCode == 0)
                #expect(response.clusterId == broker.core.topics.image.clusterID)
                #expect(!response.clusterId.isEmpty)
                #expect(response.controllerId == 1)
                #expect(response.brokers.count == 1)
                #expect(response.brokers[0].brokerId == 1)
                #expect(response.brokers[0].host == "127.0.0.1")
                #expect(response.brokers[0].port == broker.core.advertisedEndpoint.port)
                #expect(response.brokers[0].port != 0)
                #expect(!response.brokers[0].isFenced)
                #expect(response.clusterAuthorizedOperations == (version == 1 ? MetadataHandler.allClusterOperations : Int32.min))
            }
            var controller = DescribeClusterRequest()
            controller.endpointType = 2
            let mismatched = try await client.send(controller, version: 1)
            #expect(mismatched.errorCode == ErrorCode.mismatchedEndpointType.rawValue)
            #expect(
                mismatched.errorMessage
                    == "The request was sent to an endpoint of type BROKER, but we wanted an endpoint of type CONTROLLER")
            #expect(mismatched.brokers.isEmpty)
            controller.endpointType = 7
            let unsupported = try await client.send(controller, version: 2)
            #expect(unsupported.errorCode == ErrorCode.unsupportedEndpointType.rawValue)
            #expect(unsupported.errorMessage == "Unsupported endpoint type 7")
        }
    }

    @Test("DescribeLogDirs reports the data directory, partition sizes and disk space")
    func describeLogDirs() async throws {
        try await AdminTestBroker.withFreshBroker(onDisk: true) { client, broker in
            _ = try await client.send(
                AdminRequests.createTopics([AdminRequests.createTopic("sized", partitions: 2), AdminRequests.createTopic("other")]),
                version: 7)
            try await append(broker, "sized", partition: 1, count: 3)
            let all = try await client.send(DescribeLogDirsRequest(topics: nil), version: 4)
            #expect(all.errorCode == 0)
            let dir = try #require(all.results.first)
            #expect(all.results.count == 1)
            #expect(dir.logDir == broker.core.configuration.dataDirectory)
            #expect(dir.topics.map(\.name) == ["other", "sized"])
            let sized = dir.topics[1].partitions
            #expect(sized.map(\.partitionIndex) == [0, 1])
            #expect(sized[0].partitionSize == 0)
            #expect(sized[1].partitionSize > 0)
            #expect(sized[1].partitionSize == broker.core.logs.log(for: TopicPartition(topic: "sized", partition: 1))?.size)
            #expect(sized.allSatisfy { $0.offsetLag == 0 && !$0.isFutureKey })
            #expect(dir.totalBytes > 0)
            #expect(dir.usableBytes > 0 && dir.usableBytes <= dir.totalBytes)

            var filter = DescribableLogDirTopicFilter.make("sized", [1, 5])
            filter.partitions.append(1)
            let some = try await client.send(DescribeLogDirsRequest(topics: [filter]), version: 1)
            #expect(some.results[0].topics.map(\.name) == ["sized"])
            #expect(some.results[0].topics[0].partitions.map(\.partitionIndex) == [1])
        }
    }

    @Test("relative data directories are reported as absolute paths")
    func absoluteLogDir() {
        #expect(DescribeLogDirsHandler.absolutePath("/var/data") == "/var/data")
        let relative = DescribeLogDirsHandler.absolutePath("./samsa-data")
        #expect(relative.hasPrefix("/"))
        #expect(relative.hasSuffix("/samsa-data"))
        #expect(!relative.contains("/./"))
    }

    @Test("DeleteRecords moves the low watermark, with Kafka's per-partition errors")
    func deleteRecords() async throws {
        try await AdminTestBroker.withFreshBroker { client, broker in
            _ = try await client.send(
                AdminRequests.createTopics([
                    AdminRequests.createTopic("trim", partitions: 2),
                    AdminRequests.createTopic("compacted", configs: ["cleanup.policy": "compact"]),
                ]),
                version: 7)
            try await append(broker, "trim", partition: 0, count: 10)
            try await append(broker, "trim", partition: 1, count: 4)
            func partition(_ index: Int32, _ offset: Int64) -> DeleteRecordsRequest.DeleteRecordsPartition {
                var partition = DeleteRecordsRequest.DeleteRecordsPartition()
                partition.partitionIndex = index
                partition.offset = offset
                return partition
            }
            func topic(
                _ name: String, _ partitions: [DeleteRecordsRequest.DeleteRecordsPartition]
            ) -> DeleteRecordsRequest.DeleteRecordsTopic {
                var topic = DeleteRecordsRequest.DeleteRecordsTopic()
                topic.name = name
                topic.partitions = partitions
                return topic
            }
            var request = DeleteRecordsRequest()
            request.topics = [
                topic("trim", [partition(0, 6), partition(1, -1), partition(7, 0)]),
                topic("missing", [partition(0, 0)]),
                topic("compacted", [partition(0, 0)]),
            ]
            request.timeoutMs = 1000
            let response = try await client.send(request, version: 2)
            #expect(response.topics.map(\.name) == ["trim", "missing", "compacted"])
            let trim = response.topics[0].partitions
            #expect(trim.map(\.errorCode) == [0, 0, ErrorCode.unknownTopicOrPartition.rawValue])
            #expect(trim.map(\.lowWatermark) == [6, 4, -1])
            #expect(response.topics[1].partitions[0].errorCode == ErrorCode.unknownTopicOrPartition.rawValue)
            #expect(response.topics[2].partitions[0].errorCode == ErrorCode.policyViolation.rawValue)
            #expect(broker.core.logs.log(for: TopicPartition(topic: "trim", partition: 0))?.logStartOffset == 6)

            var beyond = DeleteRecordsRequest()
            beyond.topics = [topic("trim", [partition(0, 11), partition(1, -7), partition(0, 2)])]
            let errors = try await client.send(beyond, version: 0)
            #expect(
                errors.topics[0].partitions.map(\.errorCode) == [
                    ErrorCode.offsetOutOfRange.rawValue, ErrorCode.offsetOutOfRange.rawValue, 0,
                ])
            // Deleting below the current start leaves it where it is.
            #expect(errors.topics[0].partitions[2].lowWatermark == 6)
        }
    }
}

/// Builds a DescribeLogDirs topic filter.
private enum DescribableLogDirTopicFilter {
    static func make(_ name: String, _ partitions: [Int32]) -> DescribeLogDirsRequest.DescribableLogDirTopic {
        var topic = DescribeLogDirsRequest.DescribableLogDirTopic()
        topic.topic = name
        topic.partitions = partitions
        return topic
    }
}

extension DescribeLogDirsRequest {
    fileprivate init(topics: [DescribableLogDirTopic]?) {
        self.init()
        self.topics = topics
    }
}
