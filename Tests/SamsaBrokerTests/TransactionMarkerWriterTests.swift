import NIOCore
import SamsaProtocol
import SamsaRecords
import SamsaStorage
import SamsaTesting
import Testing

@testable import SamsaBroker

/// Transaction markers written by the broker: durable, moving the last stable offset, listed
/// as aborted ranges for read_committed fetches, waking waiting fetches.
@Suite("Transaction markers")
struct TransactionMarkerWriterTests {
    private func transactional(producerId: Int64, values: [String]) throws -> ByteBuffer {
        var builder = RecordBatchBuilder()
        builder.producerId = producerId
        builder.producerEpoch = 2
        builder.baseSequence = 0
        builder.isTransactional = true
        for value in values { builder.append(key: nil, value: ByteBuffer(string: value), timestamp: 1000) }
        return try builder.build()
    }

    @Test("COMMIT markers end an open transaction in every partition, durably; read_committed then sees it")
    func commit() async throws {
        try await FetchTestBroker.with { broker in
            let topic = try await broker.createTopic("txn", partitions: 2)
            try await broker.append(try transactional(producerId: 5, values: ["a", "b"]), topic: "txn", partition: 0)
            try await broker.append(try transactional(producerId: 5, values: ["c"]), topic: "txn", partition: 1)
            let logs = [0, 1].map { broker.core.logs.log(for: TopicPartition(topic: "txn", partition: $0))! }
            #expect(logs.map(\.lastStableOffset) == [0, 0], "open: nothing is stable yet")
            let before = try await broker.send(makeFetch(topic, [(0, 0)], isolation: 1), version: 12)
            #expect(before.responses.first?.partitions.first?.records?.readableBytes == 0)

            let writer = TransactionMarkerWriter(core: broker.core)
            let partitions = [0, 1].map { TopicPartition(topic: "txn", partition: $0) }
            let errors = await writer.writeMarkers(producerId: 5, producerEpoch: 2, commit: true, partitions: partitions)
            #expect(errors.isEmpty)
            #expect(logs.map(\.logEndOffset) == [3, 2], "one marker offset each")
            #expect(logs.map(\.lastStableOffset) == [3, 2])
            #expect(logs.map(\.recoveryPoint) == [3, 2], "the markers are durable")
            let after = try await broker.send(makeFetch(topic, [(0, 0), (1, 0)], isolation: 1), version: 12)
            let data = try #require(after.responses.first?.partitions)
            // The data, then the marker's control batch (which clients skip).
            #expect(try TestBatches.decode(data[0].records).prefix(2).map(\.value) == ["a", "b"])
            #expect(data.allSatisfy { $0.abortedTransactions?.isEmpty == true })
            let stored = try #require(try TestBatches.baseOffsets(data[0].records).last)
            #expect(stored == 2, "the marker batch follows the data")
        }
    }

    @Test("ABORT markers list the transaction as aborted; unknown partitions are reported; a waiting fetch wakes")
    func abort() async throws {
        try await FetchTestBroker.with { broker in
            let topic = try await broker.createTopic("txn")
            try await broker.append(try transactional(producerId: 8, values: ["x", "y"]), topic: "txn")
            // A read_committed long poll waits: nothing is stable.
            async let waiting = broker.send(makeFetch(topic, [(0, 0)], minBytes: 1, maxWaitMs: 10_000, isolation: 1), version: 12)
            await broker.clock.waitForSleepers(until: broker.clock.nowMilliseconds() + 10_000)
            let writer = TransactionMarkerWriter(core: broker.core)
            let targets = [TopicPartition(topic: "txn", partition: 0), TopicPartition(topic: "gone", partition: 0)]
            let errors = await writer.writeMarkers(producerId: 8, producerEpoch: 2, commit: false, partitions: targets)
            #expect(errors == [TopicPartition(topic: "gone", partition: 0): .unknownTopicOrPartition])
            // The clock stands still: only the marker's append can have woken the fetch.
            let woken = try #require(try await waiting.responses.first?.partitions.first)
            #expect(woken.lastStableOffset == 3)
            #expect(woken.abortedTransactions?.map(\.producerId) == [8])
            #expect(woken.abortedTransactions?.map(\.firstOffset) == [0])
        }
    }
}
