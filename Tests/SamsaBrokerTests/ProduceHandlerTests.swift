import NIOCore
import SamsaBinary
import SamsaProtocol
import SamsaRecords
import SamsaStorage
import SamsaTesting
import Testing

@testable import SamsaBroker

@Suite("Produce")
struct ProduceHandlerTests {
    typealias Fixtures = ProduceFixtures

    private func partitionResult(
        _ response: ProduceResponse, topic: Int = 0, partition: Int = 0
    ) throws -> ProduceResponse.PartitionProduceResponse {
        let topicResponse = try #require(response.responses.count > topic ? response.responses[topic] : nil)
        return try #require(topicResponse.partitionResponses.count > partition ? topicResponse.partitionResponses[partition] : nil)
    }

    @Test("acks=1 appends and answers with offsets, log start and no append time")
    func acksOne() async throws {
        try await withProduceTestDirectory { directory in
            try await withProduceTestBroker(dataDirectory: directory) { broker, address in
                try await Fixtures.createTopic(broker, "events")
                try await ProduceTestConnection.with(address) { connection in
                    for (round, expectedBase) in [(0, Int64(0)), (1, Int64(3))] {
                        let batch = try Fixtures.batch(count: 3, prefix: "r\(round)")
                        let response = try await connection.request(Fixtures.request(acks: 1, [("events", 0, batch)]), version: 9)
                        let result = try partitionResult(response)
                        #expect(result.errorCode == 0)
                        #expect(result.baseOffset == expectedBase)
                        #expect(result.logAppendTimeMs == -1)
                        #expect(result.logStartOffset == 0)
                        #expect(result.errorMessage == nil)
                        #expect(response.throttleTimeMs == 0)
                        #expect(response.responses[0].name == "events")
                    }
                }
                #expect(try await Fixtures.storedValues(broker, "events") == ["r0-0", "r0-1", "r0-2", "r1-0", "r1-1", "r1-2"])
            }
        }
    }

    @Test("acks=-1 answers once the data is fsynced")
    func acksAll() async throws {
        try await withProduceTestDirectory { directory in
            try await withProduceTestBroker(dataDirectory: directory) { broker, address in
                try await Fixtures.createTopic(broker, "durable")
                let log = try #require(broker.core.logs.log(for: TopicPartition(topic: "durable", partition: 0)))
                try await ProduceTestConnection.with(address) { connection in
                    let response = try await connection.request(
                        Fixtures.request(acks: -1, [("durable", 0, try Fixtures.batch(count: 4))]), version: 11)
                    #expect(try partitionResult(response).errorCode == 0)
                    #expect(log.recoveryPoint == 4)
                    let second = try await connection.request(
                        Fixtures.request(acks: 1, [("durable", 0, try Fixtures.batch(count: 2))]), version: 11)
                    #expect(try partitionResult(second).baseOffset == 4)
                    // acks=1 does not wait for the disk.
                    #expect(log.recoveryPoint == 4)
                }
            }
        }
    }

    @Test("acks=0 gets no response, and an error closes the connection")
    func acksZero() async throws {
        try await withProduceTestDirectory { directory in
            try await withProduceTestBroker(dataDirectory: directory) { broker, address in
                try await Fixtures.createTopic(broker, "quiet")
                try await ProduceTestConnection.with(address) { connection in
                    try await connection.send(Fixtures.request(acks: 0, [("quiet", 0, try Fixtures.batch(count: 2))]), version: 9)
                    // The next response on the wire answers the next request.
                    let metadata = try await connection.request(MetadataRequest(), version: 9)
                    #expect(metadata.brokers.count == 1)
                }
                #expect(try await Fixtures.storedValues(broker, "quiet") == ["value-0", "value-1"])
                try await ProduceTestConnection.with(address) { connection in
                    try await connection.send(Fixtures.request(acks: 0, [("missing", 0, try Fixtures.batch())]), version: 9)
                    #expect(try await connection.isClosedByPeer())
                }
            }
        }
    }

    @Test("many topics and partitions in one request, each with its own outcome")
    func manyPartitions() async throws {
        try await withProduceTestDirectory { directory in
            try await withProduceTestBroker(dataDirectory: directory) { broker, address in
                try await Fixtures.createTopic(broker, "a", partitions: 3)
                try await Fixtures.createTopic(broker, "b")
                try await ProduceTestConnection.with(address) { connection in
                    let request = Fixtures.request(
                        acks: -1,
                        [
                            ("a", 0, try Fixtures.batch(count: 1, prefix: "a0")),
                            ("a", 2, try Fixtures.batch(count: 2, prefix: "a2")),
                            ("a", 3, try Fixtures.batch(count: 1)),
                            ("b", 0, try Fixtures.batch(count: 5, prefix: "b0")),
                            ("nope", 0, try Fixtures.batch(count: 1)),
                        ])
                    let response = try await connection.request(request, version: 8)
                    #expect(response.responses.map(\.name) == ["a", "b", "nope"])
                    #expect(
                        response.responses[0].partitionResponses.map(\.errorCode) == [0, 0, ErrorCode.unknownTopicOrPartition.rawValue])
                    #expect(response.responses[0].partitionResponses.map(\.index) == [0, 2, 3])
                    #expect(response.responses[1].partitionResponses[0].errorCode == 0)
                    #expect(response.responses[1].partitionResponses[0].baseOffset == 0)
                    let missing = response.responses[2].partitionResponses[0]
                    #expect(missing.errorCode == ErrorCode.unknownTopicOrPartition.rawValue)
                    #expect(missing.baseOffset == -1)
                    #expect(missing.logStartOffset == -1)
                    #expect(missing.errorMessage != nil)
                }
                #expect(try await Fixtures.storedValues(broker, "a", partition: 2) == ["a2-0", "a2-1"])
                #expect(try await Fixtures.storedValues(broker, "b").count == 5)
                // Produce never creates topics, even with auto-creation on.
                #expect(broker.core.topics.image.topic(named: "nope") == nil)
            }
        }
    }

    @Test("v13 addresses topics by id; an unknown id gets UNKNOWN_TOPIC_ID")
    func topicIds() async throws {
        try await withProduceTestDirectory { directory in
            try await withProduceTestBroker(dataDirectory: directory) { broker, address in
                try await Fixtures.createTopic(broker, "by-id")
                let id = try #require(broker.core.topics.image.topic(named: "by-id")).id
                var request = Fixtures.request(acks: 1, [("by-id", 0, try Fixtures.batch(count: 2)), ("other", 0, try Fixtures.batch())])
                request.topicData[0].topicId = id
                var generator = SplitMix64(seed: 0xD15EA5E)  // any id the broker does not know
                let unknown = KafkaUUID.random(using: &generator)
                request.topicData[1].topicId = unknown
                try await ProduceTestConnection.with(address) { connection in
                    let response = try await connection.request(request, version: 13)
                    #expect(response.responses[0].topicId == id)
                    #expect(try partitionResult(response).errorCode == 0)
                    #expect(response.responses[1].topicId == unknown)
                    #expect(try partitionResult(response, topic: 1).errorCode == ErrorCode.unknownTopicId.rawValue)
                }
                #expect(try await Fixtures.storedValues(broker, "by-id").count == 2)
            }
        }
    }

    @Test("invalid acks fail every partition")
    func invalidAcksAndOldVersions() async throws {
        try await withProduceTestDirectory { directory in
            try await withProduceTestBroker(dataDirectory: directory) { broker, address in
                try await Fixtures.createTopic(broker, "t", partitions: 2)
                try await ProduceTestConnection.with(address) { connection in
                    let request = Fixtures.request(
                        acks: 2, [("t", 0, try Fixtures.batch()), ("t", 1, try Fixtures.batch()), ("x", 0, try Fixtures.batch())])
                    let response = try await connection.request(request, version: 7)
                    #expect(response.responses[0].partitionResponses.map(\.errorCode) == [21, 21])
                    #expect(try partitionResult(response, topic: 1).errorCode == ErrorCode.unknownTopicOrPartition.rawValue)
                }
                #expect(try await Fixtures.storedValues(broker, "t").isEmpty)
            }
        }
    }

    @Test("malformed batches get Kafka's per-partition errors and nothing is appended")
    func badBatches() async throws {
        try await withProduceTestDirectory { directory in
            try await withProduceTestBroker(dataDirectory: directory) { broker, address in
                try await Fixtures.createTopic(broker, "strict", configs: ["max.message.bytes": "2000"])
                try await Fixtures.createTopic(broker, "compacted", configs: ["cleanup.policy": "compact"])
                let good = try Fixtures.batch(count: 2)
                var corrupt = ByteBuffer(buffer: good)
                corrupt.setInteger(UInt8(0x5A), at: corrupt.writerIndex - 1)
                var twoBatches = ByteBuffer(buffer: good)
                twoBatches.writeImmutableBuffer(good)
                var trailingGarbage = ByteBuffer(buffer: good)
                trailingGarbage.writeBytes([0, 0, 0])
                let oldMagic = Fixtures.patched(good, at: 16, int16: 0x0100, keepCRC: true)
                let zstd = Fixtures.patched(good, at: 21, int16: 4)
                let control = Fixtures.patched(good, at: 21, int16: 1 << 5)
                var nonZeroBase = ByteBuffer(buffer: good)
                nonZeroBase.setInteger(Int64(7), at: nonZeroBase.readerIndex)
                let cases: [(String, ByteBuffer?, Int16, ErrorCode)] = [
                    ("strict", corrupt, 9, .corruptMessage),
                    ("strict", twoBatches, 9, .invalidRecord),
                    ("strict", oldMagic, 9, .invalidRecord),
                    ("strict", nil, 9, .invalidRecord),
                    ("strict", ByteBuffer(bytes: [0, 0, 0]), 9, .invalidRecord),
                    ("strict", try Fixtures.batch(count: 1, valueSize: 4000), 9, .messageTooLarge),
                    ("strict", zstd, 6, .unsupportedCompressionType),
                    ("strict", control, 9, .invalidRecord),
                    ("strict", nonZeroBase, 9, .invalidRecord),
                    ("compacted", try Fixtures.batch(count: 3, keyless: true), 9, .invalidRecord),
                ]
                try await ProduceTestConnection.with(address) { connection in
                    for (topic, records, version, expected) in cases {
                        let response = try await connection.request(Fixtures.request(acks: 1, [(topic, 0, records)]), version: version)
                        let result = try partitionResult(response)
                        #expect(result.errorCode == expected.rawValue, "\(topic) v\(version): expected \(expected)")
                        #expect(result.baseOffset == -1)
                        if version >= 8 { #expect(result.errorMessage != nil) }
                    }
                    let keyless = try await connection.request(
                        Fixtures.request(acks: 1, [("compacted", 0, try Fixtures.batch(count: 3, keyless: true))]), version: 9)
                    #expect(try partitionResult(keyless).recordErrors.map(\.batchIndex) == [0, 1, 2])
                    // zstd is fine from v7; a batch with trailing bytes too short for another is accepted.
                    #expect(
                        try partitionResult(try await connection.request(Fixtures.request(acks: 1, [("strict", 0, zstd)]), version: 7))
                            .errorCode == 0)
                    #expect(
                        try partitionResult(
                            try await connection.request(Fixtures.request(acks: 1, [("strict", 0, trailingGarbage)]), version: 9)
                        ).baseOffset == 2)
                    #expect(
                        try partitionResult(try await connection.request(Fixtures.request(acks: 1, [("compacted", 0, good)]), version: 9))
                            .errorCode == 0)
                }
                #expect(broker.core.logs.log(for: TopicPartition(topic: "strict", partition: 0))?.logEndOffset == 4)
                #expect(broker.core.logs.log(for: TopicPartition(topic: "compacted", partition: 0))?.logEndOffset == 2)
            }
        }
    }

    @Test("LogAppendTime topics report the append time")
    func logAppendTime() async throws {
        try await withProduceTestDirectory { directory in
            try await withProduceTestBroker(dataDirectory: directory) { broker, address in
                try await Fixtures.createTopic(broker, "stamped", configs: ["message.timestamp.type": "LogAppendTime"])
                try await ProduceTestConnection.with(address) { connection in
                    let response = try await connection.request(
                        Fixtures.request(acks: 1, [("stamped", 0, try Fixtures.batch())]), version: 9)
                    let result = try partitionResult(response)
                    #expect(result.errorCode == 0)
                    #expect(result.logAppendTimeMs > 0)
                }
            }
        }
    }
}
