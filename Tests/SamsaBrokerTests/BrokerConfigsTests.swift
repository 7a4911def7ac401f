import SamsaStorage
import Testing

@testable import SamsaBroker

@Suite("BrokerConfigs: the table behind --config, --help and DescribeConfigs")
struct BrokerConfigsTests {
    @Test("names are unique; every documented key can be set; topic synonyms are listed broker configs")
    func table() {
        let names = BrokerConfigs.definitions.map(\.name)
        #expect(Set(names).count == names.count)
        for definition in BrokerConfigs.definitions where definition.documentation != nil {
            #expect(definition.apply != nil, "\(definition.name)")
        }
        for topic in TopicConfigs.definitions {
            guard let synonym = topic.brokerSynonym else { continue }
            #expect(BrokerConfigs.definition(named: synonym)?.listing != nil, "\(synonym)")
        }
        let help = BrokerConfiguration.propertyDocumentation.map(\.key)
        #expect(help.first == "listen")
        #expect(help.contains("log.retention.ms") && !help.contains("compression.type"))
    }

    @Test("keys and their Kafka spellings set the configuration; the values are listed back")
    func apply() throws {
        var configuration = BrokerConfiguration()
        for (key, value) in [
            ("advertised.listeners", "example.com:9093"), ("log.dirs", "/data"), ("broker.id", "7"),
            ("log.retention.hours", "2"), ("log.roll.hours", "1"), ("log.flush.interval.ms", "500"),
            ("log.flush.interval.messages", "10"), ("auto.create.topics.enable", "no"), ("log.cleanup.policy", "compact,delete"),
        ] {
            try configuration.apply(key: key, value: value)
        }
        #expect(configuration.advertisedHost == "example.com" && configuration.advertisedPort == 9093)
        #expect(configuration.dataDirectory == "/data")
        #expect(configuration.nodeID == 7)
        #expect(configuration.logDefaults.retentionMilliseconds == 7_200_000)
        #expect(configuration.logDefaults.segmentMilliseconds == 3_600_000)
        #expect(configuration.logDefaults.flushPolicy == .interval(messages: 10, milliseconds: 500))
        #expect(configuration.autoCreateTopics == false)
        let values = BrokerConfigs.values(for: configuration, advertised: ("example.com", 9093), listenPort: 9092)
        let byName = Dictionary(uniqueKeysWithValues: values.map { ($0.name, $0) })
        #expect(values.map(\.name) == values.map(\.name).sorted())
        #expect(byName["log.retention.ms"]?.value == "7200000")
        #expect(byName["log.retention.ms"]?.source == .staticBrokerConfig)
        #expect(byName["log.flush.interval.messages"]?.value == "10")
        #expect(byName["node.id"]?.value == "7")
        #expect(byName["compression.type"]?.source == .defaultConfig)
        #expect(byName["listen"] == nil)
    }

    @Test("loopback.congestion.control takes an algorithm's name, or system to keep the system's")
    func loopbackCongestionControl() throws {
        var configuration = BrokerConfiguration()
        #expect(configuration.loopbackCongestionControl == "cubic")
        try configuration.apply(key: "loopback.congestion.control", value: "reno")
        #expect(configuration.loopbackCongestionControl == "reno")
        try configuration.apply(key: "loopback.congestion.control", value: "system")
        #expect(configuration.loopbackCongestionControl == nil)
        #expect(throws: ConfigurationError.self) {
            try configuration.apply(key: "loopback.congestion.control", value: "a-name-of-twenty-bytes")
        }
        #expect(throws: ConfigurationError.self) { try configuration.apply(key: "loopback.congestion.control", value: "") }
    }

    @Test("unknown keys, fixed Kafka configs and bad values are refused with the key named")
    func refusals() {
        var configuration = BrokerConfiguration()
        #expect(throws: ConfigurationError.self) { try configuration.apply(key: "bogus", value: "1") }
        #expect(throws: ConfigurationError.self) { try configuration.apply(key: "compression.type", value: "zstd") }
        do {
            try configuration.apply(key: "num.partitions", value: "0")
            Issue.record("num.partitions=0 was accepted")
        } catch {
            #expect(error.description == "num.partitions: must be at least 1")
        }
        do {
            try configuration.apply(key: "listen", value: "nowhere")
            Issue.record("listen=nowhere was accepted")
        } catch {
            #expect(error.description == "listen: expected HOST:PORT, got `nowhere`")
        }
    }
}
