import NIOConcurrencyHelpers
import NIOCore
import SamsaProtocol
import SamsaTesting
import Testing

@testable import SamsaClient

/// The consumer's incremental fetch sessions (KIP-227) against the in-process broker.
@Suite("Consumer fetch sessions", .timeLimit(.minutes(1)))
struct ConsumerFetchSessionTests {
    /// One Fetch request as the cluster saw it.
    struct SeenFetch: Sendable {
        var sessionId: Int32
        var epoch: Int32
        var partitions: [Int32]
        var forgotten: [Int32]
    }

    /// The Fetch requests the cluster got, in order, and a way to wait for one.
    final class FetchLog: Sendable {
        private let seen = NIOLockedValueBox<[SeenFetch]>([])
        private let (stream, continuation) = AsyncStream.makeStream(of: Void.self)

        init(_ cluster: SamsaTestCluster) {
            cluster.observe(.fetch) { [seen, continuation] request in
                guard let fetch = request.body as? FetchRequest else { return }
                let entry = SeenFetch(
                    sessionId: fetch.sessionId, epoch: fetch.sessionEpoch,
                    partitions: fetch.topics.flatMap { $0.partitions.map(\.partition) }.sorted(),
                    forgotten: fetch.forgottenTopicsData.flatMap(\.partitions).sorted())
                seen.withLockedValue { $0.append(entry) }
                continuation.yield()
            }
        }

        var all: [SeenFetch] { seen.withLockedValue { $0 } }

        func wait(until predicate: ([SeenFetch]) -> Bool) async {
            if predicate(all) { return }
            for await _ in stream where predicate(all) { return }
        }
    }

    private func produce(_ producer: KafkaProducer, _ values: [(partition: Int32, value: String)]) async throws {
        for (partition, value) in values {
            try await producer.sendWithoutWaiting(ProducerRecord(topic: "t", value: value, partition: partition))
        }
        await producer.flush()
    }

    /// Runs `body` with a cluster whose topic "t" has `partitions` partitions holding `records`,
    /// a producer, a consumer assigned every partition from the earliest offset (long polls of
    /// 50 ms, no auto-commit), and the log of the Fetch requests from after the records.
    private func withConsumer(
        partitions: Int, records: [(partition: Int32, value: String)], configure: (inout ConsumerConfiguration) -> Void = { _ in },
        _ body: (SamsaTestCluster, KafkaProducer, KafkaConsumer, FetchLog) async throws -> Void
    ) async throws {
        try await SamsaTestCluster.with { cluster in
            try await cluster.createTopic("t", partitions: partitions)
            let client = try ClientConfiguration(bootstrapServers: cluster.bootstrapServers)
            let producer = try KafkaProducer(configuration: ProducerConfiguration(client: client))
            try await produce(producer, records)
            let log = FetchLog(cluster)
            var configuration = ConsumerConfiguration(client: client)
            configuration.enableAutoCommit = false
            configuration.fetchMaxWaitMs = 50
            configure(&configuration)
            let consumer = try KafkaConsumer(configuration: configuration)
            try await consumer.assign(
                Dictionary(uniqueKeysWithValues: (0..<partitions).map { (TopicPartition("t", Int32($0)), OffsetSpec.earliest) }))
            try await body(cluster, producer, consumer, log)
            await producer.close()
            await consumer.close()
        }
    }

    @Test("the first fetch opens a session; later ones name only the partitions whose offset moved")
    func laterFetchesNameOnlyChanges() async throws {
        let initial = (0..<3).flatMap { partition in (0..<2).map { (Int32(partition), "\(partition)-\($0)") } }
        try await withConsumer(partitions: 3, records: initial) { _, producer, consumer, log in
            var records = consumer.records.makeAsyncIterator()
            var values: [String] = []
            for _ in 0..<6 { values.append(try #require(try await records.next()).value.map { String(buffer: $0) } ?? "") }
            #expect(Set(values) == Set(initial.map(\.1)))

            // Once every offset is where the session has it, a fetch names no partition.
            await log.wait { $0.dropFirst().contains { $0.partitions.isEmpty } }
            try await produce(producer, [(1, "1-2"), (1, "1-3")])
            for expected in ["1-2", "1-3"] {
                #expect(try await records.next()?.value.map { String(buffer: $0) } == expected)
            }
            // Partition 1's offset moved, the others' did not.
            await log.wait { $0.contains { $0.epoch > 1 && $0.partitions == [1] } }

            let fetches = log.all
            let first = try #require(fetches.first)
            #expect(first.epoch == 0 && first.partitions == [0, 1, 2], "a full fetch opens the session")
            let later = fetches.dropFirst()
            let session = try #require(later.first?.sessionId)
            #expect(session != 0)
            #expect(later.allSatisfy { $0.sessionId == session }, "one session throughout")
            #expect(later.map(\.epoch) == Array(1...Int32(later.count)), "epochs count up from 1")
        }
    }

    @Test("with fetch sessions off, every fetch names every partition and no session")
    func sessionsOff() async throws {
        try await withConsumer(partitions: 2, records: [(0, "a")], configure: { $0.fetchSessions = false }) { _, _, consumer, log in
            var records = consumer.records.makeAsyncIterator()
            let first = try await records.next()
            #expect(first?.value.map { String(buffer: $0) } == "a")
            await log.wait { $0.count >= 3 }
            #expect(log.all.allSatisfy { $0.sessionId == 0 && $0.epoch == -1 && $0.partitions == [0, 1] })
        }
    }

    @Test("a session the broker no longer has is replaced by a full fetch, and consuming goes on")
    func lostSessionIsReopened() async throws {
        try await withConsumer(partitions: 2, records: [(0, "a"), (1, "b")]) { cluster, producer, consumer, log in
            var records = consumer.records.makeAsyncIterator()
            for _ in 0..<2 { _ = try await records.next() }
            await log.wait { $0.count >= 3 }

            // The broker answers the next fetch as if it had evicted the session.
            let lost = {
                var response = FetchResponse()
                response.errorCode = ErrorCode.fetchSessionIdNotFound.rawValue
                return response
            }()
            let refusals = NIOLockedValueBox(0)
            cluster.intercept(.fetch, times: 1) { _ in
                refusals.withLockedValue { $0 += 1 }
                return .respond(lost)
            }
            await log.wait { _ in refusals.withLockedValue { $0 } == 1 }
            try await produce(producer, [(1, "c")])
            #expect(try await records.next()?.value.map { String(buffer: $0) } == "c")

            let reopened = log.all.dropFirst().filter { $0.epoch == 0 }
            #expect(reopened.count == 1, "one full fetch after the refusal")
            #expect(reopened.first?.sessionId == 0, "the lost session is not named again")
            #expect(reopened.first?.partitions == [0, 1], "and it names every partition")
        }
    }

    @Test("ends are reported for partitions that incremental answers leave out")
    func endsOfPartitionsLeftOut() async throws {
        try await withConsumer(partitions: 2, records: (0..<5).map { (0, "\($0)") }) { _, _, consumer, log in
            // Not a record is taken until the broker has left partition 0 out of an answer.
            await log.wait { $0.count >= 4 }
            var records = consumer.records.makeAsyncIterator()
            for _ in 0..<5 { _ = try await records.next() }
            var ends: [TopicPartition: Int64] = [:]
            for await end in consumer.partitionEnds {
                ends[end.partition] = end.offset
                if ends.count == 2 { break }
            }
            #expect(ends == [TopicPartition("t", 0): 5, TopicPartition("t", 1): 0])
        }
    }
}
