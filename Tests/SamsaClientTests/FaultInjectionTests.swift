import NIOConcurrencyHelpers
import NIOCore
import SamsaProtocol
import SamsaTesting
import Testing

@testable import SamsaClient

/// Leader moves and coordinator errors injected by the test broker: the client looks things
/// up again and carries on.
@Suite("Injected errors", .timeLimit(.minutes(1)))
struct FaultInjectionTests {
    @Test("a fetch answered NOT_LEADER_OR_FOLLOWER, then a commit answered NOT_COORDINATOR: both recover")
    func consumerRecovers() async throws {
        try await SamsaTestCluster.with { cluster in
            try await cluster.createTopic("moves")
            var client = try ClientConfiguration(bootstrapServers: cluster.bootstrapServers)
            client.retryBackoffMs = 1
            let producer = try KafkaProducer(configuration: ProducerConfiguration(client: client))
            for index in 0..<5 { _ = try await producer.send(ProducerRecord(topic: "moves", value: "\(index)")) }
            await producer.close()

            var configuration = ConsumerConfiguration(client: client, groupId: "movers")
            configuration.enableAutoCommit = false
            let consumer = try KafkaConsumer(configuration: configuration)
            let fetchFailures = try cluster.failNext(.fetch, with: .notLeaderOrFollower, times: 2)
            try await consumer.assign([TopicPartition("moves", 0): .earliest])
            var values: [String] = []
            for try await record in consumer.records {
                values.append(record.valueString ?? "")
                if values.count == 5 { break }
            }
            #expect(fetchFailures.requestCount == 2)
            #expect(values == ["0", "1", "2", "3", "4"])

            let commitFailures = try cluster.failNext(.offsetCommit, with: .notCoordinator)
            let lookups = cluster.observe(.findCoordinator) { _ in }
            try await consumer.commit()
            #expect(commitFailures.requestCount == 1)
            #expect(lookups.requestCount >= 1, "the coordinator was looked up again")
            #expect(await cluster.committedOffset(group: "movers", topic: "moves") == 5)
            await consumer.close()
        }
    }

    @Test("a transaction coordinator answering COORDINATOR_NOT_AVAILABLE, then CONCURRENT_TRANSACTIONS: the producer retries")
    func transactionalProducerRecovers() async throws {
        try await SamsaTestCluster.with { cluster in
            try await cluster.createTopic("tx")
            var configuration = ProducerConfiguration(client: try ClientConfiguration(bootstrapServers: cluster.bootstrapServers))
            configuration.transactionalId = "retrier"
            configuration.client.retryBackoffMs = 1
            let producer = try KafkaProducer(configuration: configuration)
            let unavailable = try cluster.failNext(.initProducerId, with: .coordinatorNotAvailable)
            try await producer.initTransactions()
            #expect(unavailable.requestCount == 1)
            try producer.beginTransaction()
            _ = try await producer.send(ProducerRecord(topic: "tx", value: "once"))
            let busy = try cluster.failNext(.endTxn, with: .concurrentTransactions)
            try await producer.commitTransaction()
            #expect(busy.requestCount == 1)
            await producer.close()
            #expect(cluster.endOffset(topic: "tx") == 2, "the record and its COMMIT marker")
        }
    }

    @Test(
        "five batches of a partition in flight, the first refused or its connection dropped: all delivered once, in order",
        arguments: [InterceptionAction.fail(.notLeaderOrFollower), .dropConnection])
    func pipelinedBatchesRecover(action: InterceptionAction) async throws {
        try await SamsaTestCluster.with { cluster in
            try await cluster.createTopic("pipelined")
            var configuration = ProducerConfiguration(client: try ClientConfiguration(bootstrapServers: cluster.bootstrapServers))
            configuration.client.retryBackoffMs = 1
            configuration.lingerMs = 0
            configuration.batchSize = 1  // every record is a batch
            let producer = try KafkaProducer(configuration: configuration)
            // The first batch goes alone; once the broker knows the producer, batches pipeline.
            _ = try await producer.send(ProducerRecord(topic: "pipelined", value: "0"))
            let inFlightWhenRefused = NIOLockedValueBox(0)
            let refusal = cluster.intercept(.produce, times: 1) { _ in
                inFlightWhenRefused.withLockedValue {
                    $0 = producer.state.withLockedValue { $0.accumulator.inFlightCount(topic: "pipelined", partition: 0) }
                }
                return action
            }
            let delivered = NIOLockedValueBox<[Int64]>([])
            try await producer.sendWithoutWaiting((1...20).map { ProducerRecord(topic: "pipelined", value: "\($0)") }) { result in
                if case .success(let metadata) = result { delivered.withLockedValue { $0.append(metadata.offset) } }
            }
            await producer.flush()
            #expect(refusal.requestCount == 1)
            #expect(inFlightWhenRefused.withLockedValue { $0 } == 5, "batches were pipelined behind the refused one")
            #expect(delivered.withLockedValue { $0.sorted() } == Array(1...20), "every record acknowledged once")
            await producer.close()

            let consumer = try KafkaConsumer(
                configuration: ConsumerConfiguration(client: try ClientConfiguration(bootstrapServers: cluster.bootstrapServers)))
            try await consumer.assign([TopicPartition("pipelined", 0): .earliest])
            let end = cluster.endOffset(topic: "pipelined") ?? 0
            var values: [String] = []
            for try await record in consumer.records {
                values.append(record.valueString ?? "")
                if values.count == end { break }
            }
            #expect(values == (0...20).map { "\($0)" }, "written once each, in order")
            await consumer.close()
        }
    }
}
