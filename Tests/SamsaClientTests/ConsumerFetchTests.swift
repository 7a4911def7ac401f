import NIOConcurrencyHelpers
import NIOCore
import SamsaProtocol
import SamsaRecords
import SamsaTesting
import Testing

@testable import SamsaClient

/// The consumer's position never passes a record the application has not been handed, and a
/// fetch made before a partition was dropped never counts for it once it is assigned again.
@Suite("Consumer positions", .timeLimit(.minutes(1)))
struct ConsumerPositionTests {
    /// Waits until the cluster has seen a Fetch for `partition` from `offset`, or a number of
    /// Fetch requests. With fetch sessions a request names a partition only when its offset
    /// moved, so a fetch from the same offset again is seen as a request, not as an offset.
    private final class FetchWatch: Sendable {
        private let seen = NIOLockedValueBox<(offsets: [Int64], requests: Int)>(([], 0))
        private let (stream, continuation) = AsyncStream.makeStream(of: Void.self)

        init(_ cluster: SamsaTestCluster, _ partition: TopicPartition) {
            cluster.observe(.fetch) { [seen, continuation] request in
                guard let fetch = request.body as? FetchRequest else { return }
                seen.withLockedValue { seen in
                    seen.requests += 1
                    // From v13 topics are named by id: the tests watch a cluster with one topic.
                    for topic in fetch.topics where topic.topic == partition.topic || topic.topic.isEmpty {
                        for entry in topic.partitions where entry.partition == partition.partition {
                            seen.offsets.append(entry.fetchOffset)
                        }
                    }
                }
                continuation.yield()
            }
        }

        func wait(forOffset offset: Int64) async {
            await wait { offsets, _ in offsets.contains(offset) }
        }

        /// Waits until the offsets fetched so far, in order, and the number of Fetch requests
        /// satisfy `predicate`.
        func wait(until predicate: ([Int64], Int) -> Bool) async {
            if seen.withLockedValue({ predicate($0.offsets, $0.requests) }) { return }
            for await _ in stream where seen.withLockedValue({ predicate($0.offsets, $0.requests) }) { return }
        }
    }

    /// A producer that has written two batches of ten records to partition 0 of "t".
    private static func twoBatches(_ client: ClientConfiguration) async throws -> KafkaProducer {
        let producer = try KafkaProducer(configuration: ProducerConfiguration(client: client))
        for batch in 0..<2 {
            for index in 0..<10 {
                try await producer.sendWithoutWaiting(ProducerRecord(topic: "t", value: "\(batch * 10 + index)", partition: 0))
            }
            await producer.flush()
        }
        return producer
    }

    /// A consumer that fetches one batch at a time (the first batch is always whole), without
    /// auto-commit.
    private static func oneBatchPerFetch(_ client: ClientConfiguration) -> ConsumerConfiguration {
        var configuration = ConsumerConfiguration(client: client)
        configuration.enableAutoCommit = false
        configuration.maxPartitionFetchBytes = 1
        return configuration
    }

    /// Holds the second Fetch the cluster gets until ``release()``.
    private final class SecondFetchHold: Sendable {
        private let (gate, opening) = AsyncStream.makeStream(of: Void.self)
        private let (holding, isHolding) = AsyncStream.makeStream(of: Void.self)

        init(_ cluster: SamsaTestCluster) {
            let fetches = NIOLockedValueBox(0)
            cluster.intercept(.fetch) { [gate, isHolding] _ in
                let count = fetches.withLockedValue {
                    $0 += 1
                    return $0
                }
                if count == 2 {
                    isHolding.yield()
                    for await _ in gate { break }
                }
                return .pass
            }
        }

        /// Returns once the second fetch is held.
        func held() async {
            for await _ in holding { break }
        }

        func release() { opening.yield() }
    }

    @Test("an aborted transaction fetched while records before it are being handed out does not move the position past them")
    func abortedDataDoesNotSkipRecordsBeingHandedOut() async throws {
        try await SamsaTestCluster.with { cluster in
            try await cluster.createTopic("t")
            let partition = TopicPartition("t", 0)
            let client = try ClientConfiguration(bootstrapServers: cluster.bootstrapServers)
            var producerConfiguration = ProducerConfiguration(client: client)
            producerConfiguration.transactionalId = "writer"
            let producer = try KafkaProducer(configuration: producerConfiguration)
            try await producer.initTransactions()
            try producer.beginTransaction()
            for index in 0..<10 { try await producer.sendWithoutWaiting(ProducerRecord(topic: "t", value: "\(index)", partition: 0)) }
            try await producer.commitTransaction()

            var configuration = ConsumerConfiguration(client: client)
            configuration.isolationLevel = .readCommitted
            configuration.enableAutoCommit = false
            let consumer = try KafkaConsumer(configuration: configuration)
            let watch = FetchWatch(cluster, partition)
            try await consumer.assign([partition: .earliest])
            var records = consumer.records.makeAsyncIterator()
            #expect(try await records.next()?.offset == 0)

            // Ten records and their commit marker fill offsets 0-10; an aborted transaction
            // (10 records and its marker) follows at 11-21.
            try producer.beginTransaction()
            for index in 0..<10 { try await producer.sendWithoutWaiting(ProducerRecord(topic: "t", value: "a\(index)", partition: 0)) }
            await producer.flush()
            try await producer.abortTransaction()
            // The fetch from 11 got the aborted data; the next one starts after it.
            await watch.wait(forOffset: 22)
            #expect(consumer.position(partition) == 1, "records 1-9 have not been handed out")
            for expected in 1..<10 { #expect(try await records.next()?.offset == Int64(expected)) }
            await producer.close()
            await consumer.close()
        }
    }

    @Test("OFFSET_OUT_OF_RANGE while fetched records are still being handed out resets the position only after them")
    func outOfRangeResetWaitsForRecordsBeingHandedOut() async throws {
        try await SamsaTestCluster.with { cluster in
            try await cluster.createTopic("t")
            let partition = TopicPartition("t", 0)
            let client = try ClientConfiguration(bootstrapServers: cluster.bootstrapServers)
            let producer = try await Self.twoBatches(client)
            // The second fetch (from 10) is held until the records before 15 are deleted, so it
            // finds its offset out of range while records 1-9 wait to be handed out.
            let hold = SecondFetchHold(cluster)
            var configuration = Self.oneBatchPerFetch(client)
            configuration.autoOffsetReset = .earliest
            configuration.fetchMaxWaitMs = 50
            let consumer = try KafkaConsumer(configuration: configuration)
            let watch = FetchWatch(cluster, partition)
            try await consumer.assign([partition: .offset(0)])
            var records = consumer.records.makeAsyncIterator()
            #expect(try await records.next()?.offset == 0)
            await hold.held()
            let admin = KafkaAdmin(configuration: client)
            _ = try await admin.deleteRecords(before: [partition: 15])
            hold.release()
            // The third Fetch is sent once the consumer has taken in the answer to the second.
            await watch.wait { _, requests in requests >= 3 }
            #expect(consumer.position(partition) == 1, "records 1-9 have not been handed out")
            for expected in 1..<10 { #expect(try await records.next()?.offset == Int64(expected)) }
            #expect(try await records.next()?.offset == 15, "then the reset to the earliest offset")
            await admin.close()
            await producer.close()
            await consumer.close()
        }
    }

    @Test("records fetched but not yet handed out are not handed out once the consumer is closed")
    func nothingIsHandedOutAfterClose() async throws {
        try await SamsaTestCluster.with { cluster in
            try await cluster.createTopic("t")
            let partition = TopicPartition("t", 0)
            let client = try ClientConfiguration(bootstrapServers: cluster.bootstrapServers)
            let producer = try await Self.twoBatches(client)
            let consumer = try KafkaConsumer(configuration: Self.oneBatchPerFetch(client))
            let watch = FetchWatch(cluster, partition)
            try await consumer.assign([partition: .earliest])
            var records = consumer.records.makeAsyncIterator()
            #expect(try await records.next()?.offset == 0)
            // The fetch from 20 is sent once the batch of 10-19 is buffered.
            await watch.wait(forOffset: 20)
            await consumer.close()
            #expect(try await records.next() == nil, "not 1, the rest of the batch being handed out")
            var batches = consumer.batches.makeAsyncIterator()
            #expect(try await batches.next() == nil, "not 10-19, the batch buffered")
            #expect(consumer.position(partition) == 1)
            await producer.close()
        }
    }

    @Test("a fetch sent before a partition was unassigned is dropped when the partition is assigned again")
    func fetchFromBeforeAReassignmentIsDropped() async throws {
        try await SamsaTestCluster.with { cluster in
            try await cluster.createTopic("t")
            let partition = TopicPartition("t", 0)
            let client = try ClientConfiguration(bootstrapServers: cluster.bootstrapServers)
            let producer = try KafkaProducer(configuration: ProducerConfiguration(client: client))
            for index in 0..<10 { try await producer.sendWithoutWaiting(ProducerRecord(topic: "t", value: "\(index)", partition: 0)) }
            await producer.flush()

            // The first fetch is answered; the second (from 10) is held until released.
            let hold = SecondFetchHold(cluster)
            var configuration = ConsumerConfiguration(client: client)
            configuration.enableAutoCommit = false
            let consumer = try KafkaConsumer(configuration: configuration)
            try await consumer.assign([partition: .offset(0)])
            await hold.held()
            try await consumer.assign([TopicPartition: OffsetSpec]())
            try await consumer.assign([partition: .offset(0)])
            for index in 10..<20 { try await producer.sendWithoutWaiting(ProducerRecord(topic: "t", value: "\(index)", partition: 0)) }
            await producer.flush()
            hold.release()
            var records = consumer.records.makeAsyncIterator()
            #expect(try await records.next()?.offset == 0, "read again from 0, not from the stale fetch's 10")
            await producer.close()
            await consumer.close()
        }
    }
}

@Suite("Consumer readers", .timeLimit(.minutes(1)))
struct ConsumerReaderTests {
    @Test("two tasks waiting for records both end when the consumer closes")
    func twoReadersEndOnClose() async throws {
        try await SamsaTestCluster.with { cluster in
            try await cluster.createTopic("quiet")
            var configuration = ConsumerConfiguration(client: try ClientConfiguration(bootstrapServers: cluster.bootstrapServers))
            configuration.enableAutoCommit = false
            let consumer = try KafkaConsumer(configuration: configuration)
            try await consumer.assign([TopicPartition("quiet", 0): .earliest])
            let readers = (0..<2).map { _ in
                Task {
                    var count = 0
                    for try await _ in consumer.records { count += 1 }
                    return count
                }
            }
            // Both are waiting for records before the close.
            while consumer.recordsWake.waiterCount < 2 { await Task.yield() }
            await consumer.close()
            for reader in readers { #expect(try await reader.value == 0) }
        }
    }
}

@Suite("Consumer and unreadable records", .timeLimit(.minutes(1)))
struct ConsumerCorruptRecordsTests {
    @Test("a record batch that fails its CRC check is reported through records, not fetched again forever")
    func corruptBatchIsReported() async throws {
        try await SamsaTestCluster.with { cluster in
            try await cluster.createTopic("t")
            var builder = RecordBatchBuilder()
            builder.append(key: nil, value: ByteBuffer(string: "hello"), timestamp: 1)
            var batch = try builder.build()
            // The last byte is the record's value, covered by the CRC.
            let last = batch.writerIndex - 1
            batch.setInteger(batch.getInteger(at: last, as: UInt8.self)! ^ 0xFF, at: last)
            let corrupt = batch
            cluster.intercept(.fetch, times: 1) { request in
                guard let fetch = request.body as? FetchRequest else { return .pass }
                var response = FetchResponse()
                response.responses = fetch.topics.map { topic in
                    var answer = FetchResponse.FetchableTopicResponse()
                    answer.topic = topic.topic
                    answer.topicId = topic.topicId
                    answer.partitions = topic.partitions.map { partition in
                        var data = FetchResponse.PartitionData()
                        data.partitionIndex = partition.partition
                        data.highWatermark = 1
                        data.lastStableOffset = 1
                        data.logStartOffset = 0
                        data.records = corrupt
                        return data
                    }
                    return answer
                }
                return .respond(response)
            }
            var configuration = ConsumerConfiguration(client: try ClientConfiguration(bootstrapServers: cluster.bootstrapServers))
            configuration.enableAutoCommit = false
            let consumer = try KafkaConsumer(configuration: configuration)
            try await consumer.assign([TopicPartition("t", 0): .earliest])
            do {
                for try await _ in consumer.records { Issue.record("a corrupt record was handed out") }
                Issue.record("records ended without an error")
            } catch let error as SamsaClientError {
                #expect("\(error)".contains("t-0"), "the error names the partition: \(error)")
            }
            await consumer.close()
        }
    }
}

@Suite("Consumer groups and passing errors", .timeLimit(.minutes(1)))
struct ConsumerGroupPassingErrorTests {
    @Test("UNSTABLE_OFFSET_COMMIT while taking the assignment is retried; the group member goes on consuming")
    func unstableOffsetCommitIsRetried() async throws {
        try await SamsaTestCluster.with { cluster in
            try await cluster.createTopic("jobs")
            let client = try ClientConfiguration(bootstrapServers: cluster.bootstrapServers)
            let producer = try KafkaProducer(configuration: ProducerConfiguration(client: client))
            for index in 0..<3 { try await producer.sendWithoutWaiting(ProducerRecord(topic: "jobs", value: "\(index)", partition: 0)) }
            await producer.flush()
            await producer.close()

            var configuration = ConsumerConfiguration(client: client, groupId: "workers")
            configuration.autoOffsetReset = .earliest
            configuration.isolationLevel = .readCommitted
            configuration.client.retryBackoffMs = 5
            let consumer = try KafkaConsumer(configuration: configuration)
            let failures = try cluster.failNext(.offsetFetch, with: .unstableOffsetCommit, times: 2)
            try consumer.subscribe(["jobs"])
            var values: [String] = []
            for try await record in consumer.records {
                values.append(record.valueString ?? "")
                if values.count == 3 { break }
            }
            #expect(values == ["0", "1", "2"])
            #expect(failures.requestCount == 2, "both refusals were seen and retried")
            await consumer.close()
        }
    }
}
