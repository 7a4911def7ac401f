import SamsaRecords
import Testing

@testable import SamsaClient

@Suite("Configuration from Kafka property names", .timeLimit(.minutes(1)))
struct ConfigurationTests {
    @Test("a producer's properties are read into typed settings")
    func producerProperties() throws {
        let configuration = try ProducerConfiguration(properties: [
            "bootstrap.servers": "a:9092, [::1]:9093,b", "client.id": "app", "acks": "all", "linger.ms": "20",
            "compression.type": "zstd", "batch.size": "65536", "partitioner": "consistent_random",
        ])
        #expect(configuration.client.bootstrapServers.map(\.description) == ["a:9092", "[::1]:9093", "b:9092"])
        #expect(configuration.client.clientId == "app")
        #expect(configuration.lingerMs == 20 && configuration.batchSize == 65_536)
        #expect(configuration.compression == .zstd)
        #expect(configuration.partitioner is CRC32Partitioner)
    }

    @Test("unknown names, bad values and combinations Kafka refuses are errors that name them")
    func refused() {
        #expect(throws: SamsaClientError.self) { try ProducerConfiguration(properties: ["bootstrap.servers": "a", "lingr.ms": "5"]) }
        #expect(throws: SamsaClientError.self) { try ProducerConfiguration(properties: ["bootstrap.servers": "a", "acks": "2"]) }
        #expect(throws: SamsaClientError.self) { try ProducerConfiguration(properties: ["bootstrap.servers": "a", "acks": "1"]) }
        #expect(throws: SamsaClientError.self) { try ProducerConfiguration(properties: ["acks": "all"]) }
        #expect(throws: SamsaClientError.self) { try ConsumerConfiguration(properties: ["bootstrap.servers": "a:x"]) }
        do {
            _ = try ProducerConfiguration(properties: ["bootstrap.servers": "a", "lingr.ms": "5"])
        } catch {
            #expect("\(error)".contains("lingr.ms"))
        }
    }

    @Test("a consumer's properties")
    func consumerProperties() throws {
        let configuration = try ConsumerConfiguration(properties: [
            "bootstrap.servers": "localhost:9092", "group.id": "g", "isolation.level": "read_committed",
            "auto.offset.reset": "earliest", "enable.auto.commit": "false",
        ])
        #expect(configuration.groupId == "g")
        #expect(configuration.isolationLevel == .readCommitted)
        #expect(configuration.autoOffsetReset == .earliest)
        #expect(!configuration.enableAutoCommit)
    }

    @Test("one set of properties for a producer and a consumer: each reads its own and names the others")
    func sharedProperties() throws {
        let properties = ["bootstrap.servers": "127.0.0.1:9092", "linger.ms": "0", "fetch.min.bytes": "1", "client.id": "both"]
        var producerUnknown = Set<String>()
        let producer = try ProducerConfiguration(properties: properties, unknown: &producerUnknown)
        var consumerUnknown = Set<String>()
        let consumer = try ConsumerConfiguration(properties: properties, unknown: &consumerUnknown)
        #expect(producer.lingerMs == 0 && producer.client.clientId == "both" && consumer.client.clientId == "both")
        #expect(producerUnknown == ["fetch.min.bytes"])
        #expect(consumerUnknown == ["linger.ms"])
        #expect(throws: SamsaClientError.self) { try ProducerConfiguration(properties: properties) }
    }
}
