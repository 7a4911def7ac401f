import NIOConcurrencyHelpers
import NIOCore
import SamsaStorage
import SamsaTesting
import Testing

@testable import SamsaClient

/// The client across a broker restart (stopped and started again over the same data, on the
/// same port): the idempotent producer delivers every record once and in order, and a consumer
/// carries on from its position.
@Suite("Broker restarts", .timeLimit(.minutes(1)))
struct BrokerRestartTests {
    private func options(_ storage: InMemoryFileSystem, port: Int? = nil) -> SamsaTestCluster.Options {
        var options = SamsaTestCluster.Options()
        options.storage = .inMemory(storage)
        options.port = port
        return options
    }

    @Test("a restart in the middle of an idempotent produce: every record is delivered once, in order")
    func producerAcrossRestart() async throws {
        let storage = InMemoryFileSystem()
        let first = try await SamsaTestCluster.start(options(storage))
        let port = first.port
        try await first.createTopic("r")
        var configuration = ProducerConfiguration(client: try ClientConfiguration(bootstrapServers: first.bootstrapServers))
        configuration.client.retryBackoffMs = 5
        configuration.client.retryBackoffMaxMs = 50
        // A request the stopping broker never answers fails fast and is retried.
        configuration.client.requestTimeoutMs = 5_000
        configuration.batchSize = 2_000
        let producer = try KafkaProducer(configuration: configuration)
        let (acknowledged, acknowledge) = AsyncStream<Int>.makeStream()
        let failures = NIOLockedValueBox<[String]>([])
        for index in 0..<300 {
            try await producer.sendWithoutWaiting(ProducerRecord(topic: "r", value: "\(index)")) { result in
                if case .failure(let error) = result { failures.withLockedValue { $0.append("\(error)") } }
                acknowledge.yield(index)
            }
            if index == 100 {
                // Wait for the first acknowledgement, then restart the broker under the producer.
                var iterator = acknowledged.makeAsyncIterator()
                _ = await iterator.next()
                try await first.stop()
                let second = try await SamsaTestCluster.start(options(storage, port: port))
                try await withRestarted(second) {
                    for index in 101..<300 {
                        try await producer.sendWithoutWaiting(ProducerRecord(topic: "r", value: "\(index)")) { result in
                            if case .failure(let error) = result { failures.withLockedValue { $0.append("\(error)") } }
                        }
                    }
                    await producer.flush()
                    await producer.close()
                    #expect(failures.withLockedValue { $0 }.isEmpty)
                    #expect(second.endOffset(topic: "r") == 300, "each record once")
                    var consumerConfiguration = ConsumerConfiguration(
                        client: try ClientConfiguration(bootstrapServers: second.bootstrapServers))
                    consumerConfiguration.enableAutoCommit = false
                    let consumer = try KafkaConsumer(configuration: consumerConfiguration)
                    try await consumer.assign([TopicPartition("r", 0): .earliest])
                    var values: [String] = []
                    for try await record in consumer.records {
                        values.append(record.valueString ?? "")
                        if values.count == 300 { break }
                    }
                    await consumer.close()
                    #expect(values == (0..<300).map { "\($0)" }, "in order")
                }
                return
            }
        }
    }

    @Test("a consumer reading across a restart carries on from its position, without gaps or repeats")
    func consumerAcrossRestart() async throws {
        let storage = InMemoryFileSystem()
        let first = try await SamsaTestCluster.start(options(storage))
        let port = first.port
        try await first.createTopic("c")
        let producer = try KafkaProducer(
            configuration: ProducerConfiguration(client: try ClientConfiguration(bootstrapServers: first.bootstrapServers)))
        for index in 0..<40 {
            try await producer.sendWithoutWaiting(ProducerRecord(topic: "c", value: "\(index)"))
        }
        await producer.flush()
        await producer.close()
        var configuration = ConsumerConfiguration(client: try ClientConfiguration(bootstrapServers: first.bootstrapServers))
        configuration.enableAutoCommit = false
        configuration.client.retryBackoffMs = 5
        configuration.client.retryBackoffMaxMs = 50
        let consumer = try KafkaConsumer(configuration: configuration)
        try await consumer.assign([TopicPartition("c", 0): .earliest])
        var offsets: [Int64] = []
        for try await record in consumer.records {
            offsets.append(record.offset)
            if offsets.count == 40 { break }
        }
        try await first.stop()
        let second = try await SamsaTestCluster.start(options(storage, port: port))
        try await withRestarted(second) {
            let again = try KafkaProducer(
                configuration: ProducerConfiguration(client: try ClientConfiguration(bootstrapServers: second.bootstrapServers)))
            for index in 40..<80 {
                try await again.sendWithoutWaiting(ProducerRecord(topic: "c", value: "\(index)"))
            }
            await again.flush()
            await again.close()
            for try await record in consumer.records {
                offsets.append(record.offset)
                if offsets.count == 80 { break }
            }
            await consumer.close()
            #expect(offsets == Array(0..<80))
        }
    }

    /// Runs `body`, then stops the restarted cluster (also when `body` throws).
    private func withRestarted(_ cluster: SamsaTestCluster, _ body: () async throws -> Void) async throws {
        do {
            try await body()
        } catch {
            try? await cluster.stop()
            throw error
        }
        try await cluster.stop()
    }
}
