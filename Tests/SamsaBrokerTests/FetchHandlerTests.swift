import NIOCore
import SamsaBinary
import SamsaProtocol
import SamsaRecords
import SamsaStorage
import SamsaTesting
import Testing

@testable import SamsaBroker

/// A fetch of `partitions` (index, offset) of `topic`, addressed by name or id as `version` wants.
func makeFetch(
    _ topic: TopicMetadata, _ partitions: [(Int32, Int64)], partitionMaxBytes: Int32 = 1 << 20,
    maxBytes: Int32 = 50 << 20, minBytes: Int32 = 0, maxWaitMs: Int32 = 0, isolation: Int8 = 0
) -> FetchRequest {
    var request = FetchRequest()
    request.maxWaitMs = maxWaitMs
    request.minBytes = minBytes
    request.maxBytes = maxBytes
    request.isolationLevel = isolation
    var wanted = FetchRequest.FetchTopic()
    wanted.topic = topic.name
    wanted.topicId = topic.id
    for (index, offset) in partitions {
        var partition = FetchRequest.FetchPartition()
        partition.partition = index
        partition.fetchOffset = offset
        partition.partitionMaxBytes = partitionMaxBytes
        wanted.partitions.append(partition)
    }
    request.topics = [wanted]
    return request
}

@Suite("Fetch")
struct FetchHandlerTests {
    @Test(
        "reads from the start and from the middle of a batch, whole batches, at every version",
        arguments: [4, 11, 12, 13, 16, 18] as [Int16])
    func startAndMiddle(version: Int16) async throws {
        try await FetchTestBroker.with { broker in
            let topic = try await broker.createTopic("events")
            try await broker.append(TestBatches.batch(count: 5, first: 0), topic: "events")
            try await broker.append(TestBatches.batch(count: 5, first: 5), topic: "events")

            let all = try await broker.send(makeFetch(topic, [(0, 0)]), version: version)
            #expect(all.errorCode == 0)
            #expect(all.sessionId == 0)
            let data = try #require(all.responses.first?.partitions.first)
            #expect(data.errorCode == 0)
            #expect(data.highWatermark == 10)
            #expect(data.lastStableOffset == 10)
            #expect(data.logStartOffset == (version >= 5 ? 0 : -1))
            #expect(data.abortedTransactions == nil)
            #expect(data.preferredReadReplica == -1)
            let records = try TestBatches.decode(data.records)
            #expect(records.map(\.offset) == Array(0..<10))
            #expect(records.map(\.value) == (0..<10).map { "value-\($0)" })
            if version >= 13 {
                #expect(all.responses.first?.topicId == topic.id)
            } else {
                #expect(all.responses.first?.topic == "events")
            }

            // Offset 7 is inside the second batch: that whole batch comes back, never skipped.
            let middle = try await broker.send(makeFetch(topic, [(0, 7)]), version: version)
            let tail = try #require(middle.responses.first?.partitions.first)
            #expect(try TestBatches.baseOffsets(tail.records) == [5])
            #expect(try TestBatches.decode(tail.records).map(\.offset) == Array(5..<10))

            // At the log end: nothing, no error.
            let end = try await broker.send(makeFetch(topic, [(0, 10)]), version: version)
            let empty = try #require(end.responses.first?.partitions.first)
            #expect(empty.errorCode == 0)
            #expect(empty.records?.readableBytes ?? 0 == 0)
        }
    }

    @Test("partition and response byte limits, with the first batch always whole (KIP-74)")
    func limits() async throws {
        try await FetchTestBroker.with { broker in
            let topic = try await broker.createTopic("limits", partitions: 2)
            var sizes: [Int] = []
            for index in 0..<3 {
                let batch = TestBatches.batch(count: 3, first: index * 3, valueBytes: 300)
                sizes.append(batch.readableBytes)
                try await broker.append(batch, topic: "limits", partition: 0)
                try await broker.append(batch, topic: "limits", partition: 1)
            }
            // A partition limit below one batch still returns the first batch whole.
            var response = try await broker.send(makeFetch(topic, [(0, 0)], partitionMaxBytes: 10), version: 12)
            var records = try #require(response.responses.first?.partitions.first?.records)
            #expect(records.readableBytes == sizes[0])

            // Two batches and 10 bytes of the third: the cut-off batch is sent as Kafka does.
            response = try await broker.send(makeFetch(topic, [(0, 0)], partitionMaxBytes: Int32(sizes[0] + sizes[1] + 10)), version: 12)
            records = try #require(response.responses.first?.partitions.first?.records)
            #expect(records.readableBytes == sizes[0] + sizes[1] + 10)
            #expect(try TestBatches.baseOffsets(records) == [0, 3])

            // A response limit below one batch: the first partition's first batch, nothing else.
            response = try await broker.send(makeFetch(topic, [(0, 0), (1, 0)], maxBytes: 10), version: 12)
            var partitions = try #require(response.responses.first?.partitions)
            #expect(partitions[0].records?.readableBytes == sizes[0])
            #expect(partitions[1].records?.readableBytes == 0)
            #expect(partitions[1].errorCode == 0)

            // The first partition is empty (at its end): the second one's first batch is still whole.
            response = try await broker.send(makeFetch(topic, [(0, 9), (1, 0)], maxBytes: 10), version: 12)
            partitions = try #require(response.responses.first?.partitions)
            #expect(partitions[0].records?.readableBytes == 0)
            #expect(partitions[1].records?.readableBytes == sizes[0])

            // The response limit is shared: what the first partition used is gone for the second.
            response = try await broker.send(
                makeFetch(topic, [(0, 0), (1, 0)], maxBytes: Int32(sizes[0] + sizes[1] + 20)), version: 12)
            partitions = try #require(response.responses.first?.partitions)
            let total = partitions.reduce(0) { $0 + ($1.records?.readableBytes ?? 0) }
            #expect(total == sizes[0] + sizes[1] + 20)
            #expect(partitions[0].records?.readableBytes == sizes[0] + sizes[1] + 20)
        }
    }

    @Test("errors: out of range, unknown topic, partition, topic id and leader epoch")
    func errors() async throws {
        try await FetchTestBroker.with { broker in
            let topic = try await broker.createTopic("errs", partitions: 1)
            try await broker.append(TestBatches.batch(count: 4), topic: "errs")
            for offset: Int64 in [5, 100, -1] {
                let response = try await broker.send(makeFetch(topic, [(0, offset)]), version: 12)
                let data = try #require(response.responses.first?.partitions.first)
                #expect(data.errorCode == ErrorCode.offsetOutOfRange.rawValue, "offset \(offset)")
                #expect(data.highWatermark == -1)
                #expect(data.records?.readableBytes ?? 0 == 0)
            }
            let missing = TopicMetadata(name: "nope", id: KafkaUUID(mostSignificantBits: 1, leastSignificantBits: 2), partitionCount: 1)
            var response = try await broker.send(makeFetch(missing, [(0, 0)]), version: 12)
            #expect(response.responses.first?.partitions.first?.errorCode == ErrorCode.unknownTopicOrPartition.rawValue)
            response = try await broker.send(makeFetch(missing, [(0, 0), (1, 0)]), version: 13)
            #expect(response.responses.first?.topicId == missing.id)
            #expect(
                response.responses.first?.partitions.map(\.errorCode) == [
                    ErrorCode.unknownTopicId.rawValue, ErrorCode.unknownTopicId.rawValue,
                ])
            response = try await broker.send(makeFetch(topic, [(3, 0)]), version: 16)
            #expect(response.responses.first?.partitions.first?.errorCode == ErrorCode.unknownTopicOrPartition.rawValue)

            var epochs = makeFetch(topic, [(0, 0), (0, 0), (0, 0)])
            epochs.topics[0].partitions[0].currentLeaderEpoch = 0
            epochs.topics[0].partitions[1].currentLeaderEpoch = 1
            epochs.topics[0].partitions[2].currentLeaderEpoch = -2
            response = try await broker.send(epochs, version: 12)
            #expect(
                response.responses.first?.partitions.map(\.errorCode) == [
                    0, ErrorCode.unknownLeaderEpoch.rawValue, ErrorCode.fencedLeaderEpoch.rawValue,
                ])
        }
    }

    @Test("fetch sessions: epoch -1 fetches without one, epoch 0 opens one, an unknown one is FETCH_SESSION_ID_NOT_FOUND")
    func sessions() async throws {
        try await FetchTestBroker.with { broker in
            let topic = try await broker.createTopic("sessions")
            try await broker.append(TestBatches.batch(count: 2), topic: "sessions")
            for (id, epoch, opens) in [(0, 0, true), (0, -1, false), (77, -1, false), (77, 0, true)] as [(Int32, Int32, Bool)] {
                var request = makeFetch(topic, [(0, 0)])
                request.sessionId = id
                request.sessionEpoch = epoch
                let response = try await broker.send(request, version: 12)
                #expect(response.errorCode == 0)
                #expect((response.sessionId != 0) == opens, "session \(id), epoch \(epoch)")
                #expect(try TestBatches.decode(response.responses.first?.partitions.first?.records).count == 2)
            }
            for (id, epoch) in [(77, 1), (0, 5)] as [(Int32, Int32)] {
                var request = makeFetch(topic, [(0, 0)], minBytes: 1 << 20, maxWaitMs: 5000)
                request.sessionId = id
                request.sessionEpoch = epoch
                // The clock never moves here: a fetch that waited for its MaxWaitMs would never be answered.
                let response = try await broker.send(request, version: 12)
                #expect(response.errorCode == ErrorCode.fetchSessionIdNotFound.rawValue)
                #expect(response.sessionId == 0)
                #expect(response.responses.isEmpty)
            }
        }
    }

    @Test("a long poll is woken by an append, without waiting out MaxWaitMs")
    func longPollWoken() async throws {
        try await FetchTestBroker.with { broker in
            let topic = try await broker.createTopic("poll", partitions: 2)
            try await broker.append(TestBatches.batch(count: 1), topic: "poll", partition: 0)
            async let answer = broker.send(makeFetch(topic, [(0, 1), (1, 0)], minBytes: 1, maxWaitMs: 20_000), version: 12)
            await broker.clock.waitForSleepers(until: broker.clock.nowMilliseconds() + 20_000)
            #expect(broker.core.appendNotifier.waiterCount == 1)
            try await broker.append(TestBatches.batch(count: 3, first: 7), topic: "poll", partition: 1)
            // The clock stands still: only the append can end the wait.
            let response = try await answer
            let partitions = try #require(response.responses.first?.partitions)
            #expect(partitions[0].records?.readableBytes == 0)
            #expect(try TestBatches.decode(partitions[1].records).map(\.value) == ["value-7", "value-8", "value-9"])
            #expect(broker.core.appendNotifier.waiterCount == 0)
        }
    }

    @Test("a long poll that gets no data answers empty when MaxWaitMs ends")
    func longPollTimesOut() async throws {
        try await FetchTestBroker.with { broker in
            let topic = try await broker.createTopic("quiet")
            try await broker.append(TestBatches.batch(count: 2), topic: "quiet")
            // 2 bytes are there but MinBytes asks for far more: wait the whole 400 ms.
            async let waiting = broker.send(makeFetch(topic, [(0, 0)], minBytes: 1 << 20, maxWaitMs: 400), version: 12)
            await broker.clock.waitForSleepers(until: broker.clock.nowMilliseconds() + 400)
            broker.clock.advance(byMilliseconds: 399)
            #expect(broker.core.appendNotifier.waiterCount == 1, "still waiting 1 ms before MaxWaitMs ends")
            broker.clock.advance(byMilliseconds: 1)
            let response = try await waiting
            #expect(try TestBatches.decode(response.responses.first?.partitions.first?.records).count == 2)

            async let idle = broker.send(makeFetch(topic, [(0, 2)], minBytes: 1, maxWaitMs: 300), version: 12)
            await broker.clock.waitForSleepers(until: broker.clock.nowMilliseconds() + 300)
            broker.clock.advance(byMilliseconds: 300)
            let nothing = try await idle
            #expect(nothing.responses.first?.partitions.first?.records?.readableBytes == 0)
            #expect(nothing.responses.first?.partitions.first?.errorCode == 0)
            #expect(broker.core.appendNotifier.waiterCount == 0)
        }
    }

    @Test("graceful shutdown ends a long poll instead of waiting for MaxWaitMs")
    func shutdownEndsLongPoll() async throws {
        let poll = try await FetchTestBroker.with { broker in
            let topic = try await broker.createTopic("idle")
            let address = broker.address
            let poll = Task {
                try await FetchTestClient.connect(to: address) { client in
                    try await client.send(makeFetch(topic, [(0, 0)], minBytes: 1, maxWaitMs: 25_000), version: 12)
                }
            }
            await broker.clock.waitForSleepers(until: broker.clock.nowMilliseconds() + 25_000)
            #expect(broker.core.appendNotifier.waiterCount == 1)
            // The clock never moves: only the shutdown can end this poll.
            return poll
        }
        // The fetch in progress is still answered (empty) before the connection closes.
        let response = try await poll.value
        #expect(response.responses.first?.partitions.first?.errorCode == 0)
        #expect(response.responses.first?.partitions.first?.records?.readableBytes == 0)
    }

    @Test("read_committed stops at the last stable offset and lists aborted transactions")
    func readCommitted() async throws {
        try await FetchTestBroker.with { broker in
            let topic = try await broker.createTopic("txn")
            // Offsets 0-2: an aborted transaction of producer 7; 3: its abort marker.
            var aborted = RecordBatchBuilder()
            aborted.producerId = 7
            aborted.producerEpoch = 0
            aborted.baseSequence = 0
            aborted.isTransactional = true
            for index in 0..<3 { aborted.append(key: nil, value: ByteBuffer(string: "aborted-\(index)"), timestamp: 1000) }
            try await broker.append(try aborted.build(), topic: "txn")
            try await broker.append(
                ControlRecord(type: .abort, coordinatorEpoch: 0).buildBatch(producerId: 7, producerEpoch: 0, timestamp: 1001), topic: "txn")
            // 4-5: plain records; 6: an open transaction of producer 9.
            try await broker.append(TestBatches.batch(count: 2, first: 4), topic: "txn")
            var open = RecordBatchBuilder()
            open.producerId = 9
            open.producerEpoch = 0
            open.baseSequence = 0
            open.isTransactional = true
            open.append(key: nil, value: ByteBuffer(string: "open"), timestamp: 1002)
            try await broker.append(try open.build(), topic: "txn")

            let committed = try await broker.send(makeFetch(topic, [(0, 0)], isolation: 1), version: 12)
            let data = try #require(committed.responses.first?.partitions.first)
            #expect(data.highWatermark == 7)
            #expect(data.lastStableOffset == 6)
            #expect(data.abortedTransactions?.map(\.producerId) == [7])
            #expect(data.abortedTransactions?.map(\.firstOffset) == [0])
            #expect(try TestBatches.baseOffsets(data.records) == [0, 3, 4])

            let uncommitted = try await broker.send(makeFetch(topic, [(0, 0)], isolation: 0), version: 12)
            let all = try #require(uncommitted.responses.first?.partitions.first)
            #expect(all.abortedTransactions == nil)
            #expect(all.lastStableOffset == 6)
            #expect(try TestBatches.baseOffsets(all.records) == [0, 3, 4, 6])

            // Beyond the last stable offset a read_committed consumer sees nothing (and no error).
            let beyond = try await broker.send(makeFetch(topic, [(0, 6)], isolation: 1), version: 4)
            #expect(beyond.responses.first?.partitions.first?.records?.readableBytes == 0)
            #expect(beyond.responses.first?.partitions.first?.abortedTransactions?.isEmpty == true)
        }
    }

    @Test("ApiVersions advertises Fetch 0-18, ListOffsets 0-11 and OffsetForLeaderEpoch 0-4")
    func advertised() async throws {
        try await FetchTestBroker.with { broker in
            let response = try await broker.send(ApiVersionsRequest(), version: 3)
            let keys = Dictionary(uniqueKeysWithValues: response.apiKeys.map { ($0.apiKey, $0.minVersion...$0.maxVersion) })
            #expect(keys[ApiKey.fetch.rawValue] == 0...18)
            #expect(keys[ApiKey.listOffsets.rawValue] == 0...11)
            #expect(keys[ApiKey.offsetForLeaderEpoch.rawValue] == 0...4)
        }
    }
}
