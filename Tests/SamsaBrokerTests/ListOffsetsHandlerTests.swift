import NIOCore
import SamsaProtocol
import SamsaRecords
import SamsaStorage
import SamsaTesting
import Testing

@testable import SamsaBroker

/// A ListOffsets request for (partition, timestamp) pairs of one topic.
func makeListOffsets(
    _ topic: String, _ partitions: [(Int32, Int64)], isolation: Int8 = 0, currentLeaderEpoch: Int32 = -1
) -> ListOffsetsRequest {
    var request = ListOffsetsRequest()
    request.replicaId = -1
    request.isolationLevel = isolation
    var wanted = ListOffsetsRequest.ListOffsetsTopic()
    wanted.name = topic
    for (index, timestamp) in partitions {
        var partition = ListOffsetsRequest.ListOffsetsPartition()
        partition.partitionIndex = index
        partition.timestamp = timestamp
        partition.currentLeaderEpoch = currentLeaderEpoch
        wanted.partitions.append(partition)
    }
    request.topics = [wanted]
    return request
}

@Suite("ListOffsets")
struct ListOffsetsHandlerTests {
    @Test("by timestamp, max timestamp, earliest and latest, checked against a scan of every record")
    func againstBruteForce() async throws {
        try await FetchTestBroker.with { broker in
            // Small segments and a dense index, so lookups cross segments and index entries.
            try await broker.createTopic("times", configs: ["segment.bytes": "1500", "index.interval.bytes": "200"])
            var random = SplitMix64(seed: 42)
            var first = 0
            for _ in 0..<40 {
                let count = Int.random(in: 1...5, using: &random)
                let timestamps = (0..<count).map { _ in Int64.random(in: 1000...5000, using: &random) }
                try await broker.append(TestBatches.batch(count: count, first: first, timestamps: timestamps), topic: "times")
                first += count
            }
            let log = try #require(broker.core.logs.log(for: TopicPartition(topic: "times", partition: 0)))
            #expect(log.segmentBaseOffsets.count > 3)
            let all = try TestBatches.allRecords(of: log)
            #expect(all.count == first)

            // Moving the log start inside a batch must not return offsets before it.
            let startOffset: Int64 = 7
            _ = try await broker.core.blocking.run { try log.deleteRecords(before: startOffset) }
            let visible = all.filter { $0.offset >= startOffset }

            var targets: [Int64] = [0, 999, 5001, 9999]
            for record in all { targets += [record.timestamp - 1, record.timestamp, record.timestamp + 1] }
            try await FetchTestClient.connect(to: broker.address) { client in
                for target in Set(targets).sorted() {
                    let response = try await client.send(makeListOffsets("times", [(0, target)]), version: 7)
                    let answer = try #require(response.topics.first?.partitions.first)
                    let expected = visible.first { $0.timestamp >= target }
                    #expect(answer.errorCode == 0)
                    #expect(answer.offset == expected?.offset ?? -1, "target \(target)")
                    #expect(answer.timestamp == expected?.timestamp ?? -1, "target \(target)")
                    #expect(answer.leaderEpoch == (expected == nil ? -1 : 0))
                }

                let maximum = try #require(visible.map(\.timestamp).max())
                let maxRecord = try #require(visible.first { $0.timestamp == maximum })
                let special = try await client.send(
                    makeListOffsets("times", [(0, -3)]), version: 11)
                #expect(special.topics.first?.partitions.first?.offset == maxRecord.offset)
                #expect(special.topics.first?.partitions.first?.timestamp == maximum)

                for (timestamp, offset) in [(-1, Int64(first)), (-2, startOffset), (-4, startOffset), (-5, -1)] as [(Int64, Int64)] {
                    let response = try await client.send(makeListOffsets("times", [(0, timestamp)]), version: 9)
                    let answer = try #require(response.topics.first?.partitions.first)
                    #expect(answer.errorCode == 0)
                    #expect(answer.offset == offset, "timestamp \(timestamp)")
                    #expect(answer.timestamp == -1)
                    #expect(answer.leaderEpoch == (timestamp == -5 ? -1 : 0))
                }
                // v1 has no leader epoch; its answer decodes with the default.
                let old = try await client.send(makeListOffsets("times", [(0, -1)]), version: 1)
                #expect(old.topics.first?.partitions.first?.offset == Int64(first))
            }
        }
    }

    @Test("errors: unsupported timestamps, unknown partitions, duplicates, leader epochs")
    func errors() async throws {
        try await FetchTestBroker.with { broker in
            try await broker.createTopic("errs")
            try await broker.append(TestBatches.batch(count: 3), topic: "errs")
            let unsupported = ErrorCode.unsupportedVersion.rawValue
            for (timestamp, version) in [(-3, 6), (-4, 7), (-5, 8), (-6, 10), (-7, 11)] as [(Int64, Int16)] {
                let response = try await broker.send(makeListOffsets("errs", [(0, timestamp)]), version: version)
                #expect(response.topics.first?.partitions.first?.errorCode == unsupported, "\(timestamp) at v\(version)")
                #expect(response.topics.first?.partitions.first?.offset == -1)
            }
            var response = try await broker.send(makeListOffsets("missing", [(0, -1)]), version: 7)
            #expect(response.topics.first?.partitions.first?.errorCode == ErrorCode.unknownTopicOrPartition.rawValue)
            response = try await broker.send(makeListOffsets("errs", [(1, -1)]), version: 7)
            #expect(response.topics.first?.partitions.first?.errorCode == ErrorCode.unknownTopicOrPartition.rawValue)
            response = try await broker.send(makeListOffsets("errs", [(0, -1), (0, -2)]), version: 7)
            #expect(
                response.topics.first?.partitions.map(\.errorCode) == [
                    ErrorCode.invalidRequest.rawValue, ErrorCode.invalidRequest.rawValue,
                ])
            response = try await broker.send(makeListOffsets("errs", [(0, -1)], currentLeaderEpoch: 1), version: 4)
            #expect(response.topics.first?.partitions.first?.errorCode == ErrorCode.unknownLeaderEpoch.rawValue)
            response = try await broker.send(makeListOffsets("errs", [(0, -1)], currentLeaderEpoch: 0), version: 4)
            #expect(response.topics.first?.partitions.first?.offset == 3)
        }
    }

    @Test("latest is the last stable offset for read_committed; an empty log has no max timestamp")
    func isolationAndEmpty() async throws {
        try await FetchTestBroker.with { broker in
            try await broker.createTopic("txn")
            try await broker.createTopic("empty")
            try await broker.append(TestBatches.batch(count: 2), topic: "txn")
            var open = RecordBatchBuilder()
            open.producerId = 5
            open.producerEpoch = 0
            open.baseSequence = 0
            open.isTransactional = true
            open.append(key: nil, value: ByteBuffer(string: "pending"), timestamp: 9000)
            try await broker.append(try open.build(), topic: "txn")

            var response = try await broker.send(makeListOffsets("txn", [(0, -1)], isolation: 1), version: 5)
            #expect(response.topics.first?.partitions.first?.offset == 2)
            response = try await broker.send(makeListOffsets("txn", [(0, -1)], isolation: 0), version: 5)
            #expect(response.topics.first?.partitions.first?.offset == 3)
            // The open transaction's record is past the last stable offset: not found for read_committed.
            response = try await broker.send(makeListOffsets("txn", [(0, 9000)], isolation: 1), version: 5)
            #expect(response.topics.first?.partitions.first?.offset == -1)
            response = try await broker.send(makeListOffsets("txn", [(0, 9000)], isolation: 0), version: 5)
            #expect(response.topics.first?.partitions.first?.offset == 2)

            for timestamp: Int64 in [-3, 1000] {
                response = try await broker.send(makeListOffsets("empty", [(0, timestamp)]), version: 7)
                #expect(response.topics.first?.partitions.first?.errorCode == 0)
                #expect(response.topics.first?.partitions.first?.offset == -1)
                #expect(response.topics.first?.partitions.first?.timestamp == -1)
            }
            response = try await broker.send(makeListOffsets("empty", [(0, -1), (0, -2)].dropLast()), version: 7)
            #expect(response.topics.first?.partitions.first?.offset == 0)
        }
    }
}

extension TestBatches {
    /// Every record's offset and timestamp in `log`, in log order (a read stops at a segment's
    /// end, so this reads segment after segment).
    static func allRecords(of log: PartitionLog) throws -> [(offset: Int64, timestamp: Int64)] {
        var result: [(offset: Int64, timestamp: Int64)] = []
        var next = log.logStartOffset
        while next < log.logEndOffset {
            var scanner = RecordBatchScanner(try log.read(from: next, maxBytes: 1 << 24, isolation: .logEnd).readRecords())
            while let batch = try scanner.nextBatch() {
                for record in try batch.decodeRecords(maxDecompressedBytes: 1 << 24) {
                    result.append((record.offset, record.timestamp))
                }
                next = batch.header.nextOffset
            }
        }
        return result
    }
}
