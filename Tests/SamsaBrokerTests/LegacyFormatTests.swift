import NIOCore
import SamsaProtocol
import SamsaRecords
import SamsaStorage
import Testing

@testable import SamsaBroker

/// Produce v0-2 and Fetch v0-3 with the legacy message formats (beyond Kafka 4, as Kafka 3.x).
@Suite("Legacy message formats: Produce v0-2, Fetch v0-3")
struct LegacyFormatTests {
    typealias Message = LegacyTestMessages.Message
    typealias Fixtures = ProduceFixtures

    private func produce(
        _ connection: ProduceTestConnection, _ topic: String, _ records: ByteBuffer, version: Int16
    ) async throws
        -> ProduceResponse.PartitionProduceResponse?
    {
        try await connection.request(Fixtures.request(acks: -1, [(topic, 0, records)]), version: version)
            .responses.first?.partitionResponses.first
    }

    @Test("magic 0 and 1 message sets are converted to v2 batches, with keys, values, nulls and timestamps")
    func produceLegacy() async throws {
        try await FetchTestBroker.with { broker in
            let topic = try await broker.createTopic("legacy")
            try await ProduceTestConnection.with(broker.address) { connection in
                let v0 = LegacyTestMessages.build([
                    Message(offset: 0, magic: 0, key: "k0", value: "zero"), Message(offset: 1, magic: 0, key: nil, value: nil),
                ])
                let first = try await produce(connection, "legacy", v0, version: 0)
                #expect(first?.errorCode == 0)
                #expect(first?.baseOffset == 0)
                let v1 = LegacyTestMessages.build([
                    Message(offset: 0, magic: 1, timestamp: 1_650_000_000_123, key: "k2", value: "two"),
                    Message(offset: 1, magic: 1, timestamp: 1_650_000_000_456, key: "k3", value: ""),
                ])
                let second = try await produce(connection, "legacy", v1, version: 2)
                #expect(second?.errorCode == 0)
                #expect(second?.baseOffset == 2)
                let v2 = try await produce(connection, "legacy", try Fixtures.batch(count: 1), version: 2)
                #expect(v2?.errorCode == 0, "a v2 batch is still accepted below Produce v3")
            }
            let response = try await broker.send(makeFetch(topic, [(0, 0)]), version: 12)
            let records = try TestBatches.decodeRecords(response.responses.first?.partitions.first?.records)
            #expect(records.map(\.key) == ["k0", nil, "k2", "k3", "key-0"])
            #expect(records.map(\.value) == ["zero", nil, "two", "", "value-0"])
            #expect(records.map(\.timestamp).prefix(4) == [-1, -1, 1_650_000_000_123, 1_650_000_000_456])
        }
    }

    @Test("a legacy message with a wrong CRC is CORRUPT_MESSAGE and nothing is appended")
    func corruptLegacy() async throws {
        try await FetchTestBroker.with { broker in
            try await broker.createTopic("damaged")
            var set = LegacyTestMessages.build([Message(offset: 0, magic: 1, timestamp: 5, key: "k", value: "v")])
            set.setInteger(set.getInteger(at: set.writerIndex - 1, as: UInt8.self)! ^ 0xFF, at: set.writerIndex - 1)
            try await ProduceTestConnection.with(broker.address) { connection in
                let answer = try await produce(connection, "damaged", set, version: 1)
                #expect(answer?.errorCode == ErrorCode.corruptMessage.rawValue)
            }
            #expect(broker.core.logs.log(for: TopicPartition(topic: "damaged", partition: 0))?.logEndOffset == 0)
        }
    }

    @Test("Fetch v0-1 get magic 0 and v2-3 magic 1 messages with absolute offsets, from any offset")
    func fetchLegacy() async throws {
        try await FetchTestBroker.with { broker in
            let topic = try await broker.createTopic("modern")
            try await broker.append(TestBatches.batch(count: 3), topic: "modern")
            try await broker.append(TestBatches.batch(count: 2, first: 3), topic: "modern")
            for version: Int16 in 0...3 {
                let response = try await broker.send(makeFetch(topic, [(0, 1)]), version: version)
                let partition = try #require(response.responses.first?.partitions.first)
                #expect(partition.errorCode == 0)
                #expect(partition.highWatermark == 5)
                let messages = try #require(LegacyTestMessages.parse(partition.records ?? ByteBuffer()), "valid CRCs at v\(version)")
                let magic: Int8 = version <= 1 ? 0 : 1
                #expect(messages.allSatisfy { $0.magic == magic }, "v\(version)")
                // The whole first batch comes back (offset 0 too), as Kafka's down-conversion does.
                #expect(messages.map(\.offset) == [0, 1, 2, 3, 4], "v\(version)")
                #expect(messages.map(\.value) == (0..<5).map { "value-\($0)" })
            }
        }
    }
}
