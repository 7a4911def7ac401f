import NIOConcurrencyHelpers
import NIOCore
import SamsaBinary
import SamsaProtocol
import SamsaStorage
import SamsaTesting
import Testing

@testable import SamsaBroker

/// SamsaTestCluster as an application's test would use it: a real broker on a free port, and
/// interceptors that observe, fail, delay or drop requests per API key.
@Suite("SamsaTestCluster")
struct TestClusterTests {
    typealias Fixtures = ProduceFixtures

    /// A Metadata request that creates the topics it names, as a client's first one does.
    private func metadata(_ topics: [String]?) -> MetadataRequest {
        var request = AdminRequests.metadata(topics)
        request.allowAutoTopicCreation = true
        return request
    }

    @Test("starts in memory on a free port, answers clients, and keeps its data across a restart on the same file system")
    func startStopRestart() async throws {
        let memory = InMemoryFileSystem()
        var options = SamsaTestCluster.Options()
        options.storage = .inMemory(memory)
        options.seed = 7
        let clusterId = try await SamsaTestCluster.with(options) { cluster in
            #expect(cluster.port > 0)
            #expect(cluster.bootstrapServers == "127.0.0.1:\(cluster.port)")
            #expect(cluster.seed == 7)
            return try await TestConnection.with(cluster.address, clientId: "app") { connection in
                let response = try await connection.send(metadata(["orders"]), version: 12)
                #expect(response.topics.map(\.name) == ["orders"])
                #expect(response.brokers.first?.port == Int32(cluster.port))
                return try #require(response.clusterId)
            }
        }
        try await SamsaTestCluster.with(options) { cluster in
            #expect(cluster.broker.core.topics.image.topic(named: "orders") != nil, "the topic outlived the first cluster")
            #expect(cluster.broker.core.topics.image.clusterID == clusterId)
        }
    }

    @Test("creates topics and reports topics, partition counts, end offsets and committed offsets")
    func inspection() async throws {
        try await SamsaTestCluster.with { cluster in
            try await cluster.createTopic("events", partitions: 3, configs: ["retention.ms": "60000"])
            await #expect(throws: TopicCreationError.self) { try await cluster.createTopic("events") }
            #expect(cluster.topicNames.contains("events"))
            #expect(cluster.partitionCount(of: "events") == 3)
            #expect(cluster.partitionCount(of: "missing") == nil)
            #expect(cluster.endOffset(topic: "events", partition: 2) == 0)
            #expect(cluster.endOffset(topic: "events", partition: 3) == nil)
            try await ProduceTestConnection.with(cluster.address) { connection in
                let response = try await connection.request(
                    Fixtures.request(acks: -1, [("events", 2, try Fixtures.batch(count: 4))]), version: 9)
                #expect(response.responses.first?.partitionResponses.first?.errorCode == 0)
            }
            #expect(cluster.endOffset(topic: "events", partition: 2) == 4)
            #expect(await cluster.committedOffset(group: "g", topic: "events", partition: 2) == nil)
            try await TestConnection.with(cluster.address, clientId: "committer") { connection in
                _ = try await connection.send(groupTestCommit("g", topic: "events", [2: 3]), version: 2)
            }
            #expect(await cluster.committedOffset(group: "g", topic: "events", partition: 2) == 3)
        }
    }

    @Test("the same seed gives the same cluster id and topic ids; another seed does not")
    func seededRandomness() async throws {
        func ids(seed: UInt64) async throws -> (String, KafkaUUID) {
            var options = SamsaTestCluster.Options()
            options.seed = seed
            return try await SamsaTestCluster.with(options) { cluster in
                let core = cluster.broker.core
                let topic = try await core.blocking.run { try core.createTopic(name: "t", partitionCount: 1) }.topic
                return (core.topics.image.clusterID, try #require(topic?.id))
            }
        }
        let first = try await ids(seed: 11)
        let again = try await ids(seed: 11)
        let other = try await ids(seed: 12)
        #expect(first == again)
        #expect(first.0 != other.0)
        #expect(first.1 != other.1)
    }

    @Test("observe sees every request of its API key and the broker still answers it")
    func observe() async throws {
        try await SamsaTestCluster.with { cluster in
            let seen = NIOLockedValueBox<[String?]>([])
            let interception = cluster.observe(.metadata) { request in
                seen.withLockedValue { $0.append(request.header.clientId) }
            }
            try await TestConnection.with(cluster.address, clientId: "watched") { connection in
                for _ in 0..<3 {
                    #expect(try await connection.send(metadata(["a"]), version: 12).topics.first?.errorCode == 0)
                }
                _ = try await connection.send(ApiVersionsRequest(), version: 3)
            }
            #expect(seen.withLockedValue { $0 } == ["watched", "watched", "watched"])
            #expect(interception.requestCount == 3)
        }
    }

    @Test("failNext answers every partition with the error, appends nothing, and lets the next request through")
    func failNext() async throws {
        try await SamsaTestCluster.with { cluster in
            let broker = cluster.broker
            try await Fixtures.createTopic(broker, "moves", partitions: 2)
            try cluster.failNext(.produce, with: .notLeaderOrFollower)
            try await ProduceTestConnection.with(cluster.address) { connection in
                let batch = try Fixtures.batch(count: 2)
                let request = Fixtures.request(acks: -1, [("moves", 0, batch), ("moves", 1, batch)])
                let refused = try await connection.request(request, version: 9)
                let errors = refused.responses.flatMap(\.partitionResponses).map { ErrorCode(rawValue: $0.errorCode) }
                #expect(errors == [.notLeaderOrFollower, .notLeaderOrFollower])
                #expect(try await Fixtures.storedValues(broker, "moves").isEmpty, "the broker never saw the failed produce")
                let accepted = try await connection.request(request, version: 9)
                #expect(accepted.responses.flatMap(\.partitionResponses).allSatisfy { $0.errorCode == 0 })
                #expect(try await Fixtures.storedValues(broker, "moves").count == 2)
            }
            #expect(throws: InterceptionError.errorResponseUnsupported(.describeLogDirs)) {
                try cluster.failNext(.describeLogDirs, with: .unknownServerError)
            }
        }
    }

    @Test("a group coordinator error reaches the client for as many requests as asked")
    func coordinatorErrors() async throws {
        try await SamsaTestCluster.with { cluster in
            try cluster.failNext(.findCoordinator, with: .coordinatorNotAvailable, times: 2)
            try await TestConnection.with(cluster.address, clientId: "member") { connection in
                var find = FindCoordinatorRequest()
                find.key = "g"
                var codes: [ErrorCode] = []
                for _ in 0..<3 {
                    codes.append(ErrorCode(rawValue: try await connection.send(find, version: 2).errorCode))
                }
                #expect(codes == [.coordinatorNotAvailable, .coordinatorNotAvailable, .noError])
                find.coordinatorKeys = ["g", "h"]
                try cluster.failNext(.findCoordinator, with: .notCoordinator)
                let batched = try await connection.send(find, version: 4)
                #expect(batched.coordinators.map(\.key) == ["g", "h"])
                #expect(batched.coordinators.allSatisfy { $0.errorCode == ErrorCode.notCoordinator.rawValue })
            }
        }
    }

    @Test("delayNext holds a request until released: the broker has not acted on it meanwhile")
    func delay() async throws {
        try await SamsaTestCluster.with { cluster in
            let (held, holding) = AsyncStream<Void>.makeStream()
            let (release, releasing) = AsyncStream<Void>.makeStream()
            cluster.delayNext(.createTopics) {
                holding.yield()
                for await _ in release { break }
            }
            try await TestConnection.with(cluster.address, clientId: "admin") { connection in
                var create = CreateTopicsRequest()
                create.topics = [AdminRequests.createTopic("late")]
                let correlationId = try await connection.write(create, version: 7)
                for await _ in held { break }
                #expect(cluster.broker.core.topics.image.topic(named: "late") == nil, "held before the broker saw it")
                releasing.yield()
                let response = try await connection.receive(CreateTopicsResponse.self, version: 7, correlationId: correlationId)
                #expect(response.topics.first?.errorCode == 0)
                #expect(cluster.broker.core.topics.image.topic(named: "late") != nil)
            }
        }
    }

    @Test("dropConnectionOnNext closes the connection instead of answering; a new connection is served")
    func drop() async throws {
        try await SamsaTestCluster.with { cluster in
            cluster.dropConnectionOnNext(.metadata)
            try await TestConnection.with(cluster.address, clientId: "app") { connection in
                try await connection.write(metadata(nil), version: 12)
                #expect(await connection.isClosedByPeer())
            }
            let answered = try await TestConnection.with(cluster.address, clientId: "app") { connection in
                try await connection.send(metadata(nil), version: 12)
            }
            #expect(answered.errorCode == 0)
        }
    }

    @Test("a manual clock drives the broker's timers: a long poll ends only when the clock passes MaxWaitMs")
    func manualClock() async throws {
        var options = SamsaTestCluster.Options()
        let clock = ManualClock()
        options.clock = clock
        try await SamsaTestCluster.with(options) { cluster in
            try await Fixtures.createTopic(cluster.broker, "quiet")
            let topicId = try #require(cluster.broker.core.topics.image.topic(named: "quiet")?.id)
            try await TestConnection.with(cluster.address, clientId: "consumer") { connection in
                var fetch = FetchRequest()
                fetch.maxWaitMs = 1_000
                fetch.minBytes = 1
                fetch.maxBytes = 1 << 20
                var topic = FetchRequest.FetchTopic()
                topic.topicId = topicId
                var partition = FetchRequest.FetchPartition()
                partition.partitionMaxBytes = 1 << 20
                topic.partitions = [partition]
                fetch.topics = [topic]
                let correlationId = try await connection.write(fetch, version: 13)
                await clock.waitForSleepers(until: clock.nowMilliseconds() + 1_000)
                clock.advance(byMilliseconds: 1_000)
                let response = try await connection.receive(FetchResponse.self, version: 13, correlationId: correlationId)
                #expect(response.responses.first?.partitions.first?.records?.readableBytes == 0)
            }
        }
    }
}
