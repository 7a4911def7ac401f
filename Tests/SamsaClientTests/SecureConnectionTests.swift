import SamsaBroker
import SamsaProtocol
import SamsaTesting
import Testing

@testable import SamsaClient

/// SamsaClient against a broker whose listener uses SASL: PLAIN and SCRAM log in, a wrong
/// password is refused with Kafka's error.
@Suite("SASL from SamsaClient", .timeLimit(.minutes(1)))
struct SecureConnectionTests {
    private func options() -> SamsaTestCluster.Options {
        var options = SamsaTestCluster.Options()
        options.configuration.listeners = [ListenerConfiguration(name: "SASL_PLAINTEXT", host: "127.0.0.1", port: 0)]
        options.configuration.security.sasl.bootstrapUsers = [("alice", "alice-secret")]
        options.configuration.security.sasl.failedAuthenticationDelayMilliseconds = 0
        return options
    }

    private func client(_ cluster: SamsaTestCluster, mechanism: String, password: String = "alice-secret") throws -> ClientConfiguration {
        try ClientConfiguration(properties: [
            "bootstrap.servers": cluster.bootstrapServers, "security.protocol": "SASL_PLAINTEXT", "sasl.mechanism": mechanism,
            "sasl.username": "alice", "sasl.password": password,
        ])
    }

    @Test("PLAIN, SCRAM-SHA-256 and SCRAM-SHA-512 log in; records go through", arguments: ["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"])
    func logsIn(mechanism: String) async throws {
        try await SamsaTestCluster.with(options()) { cluster in
            let admin = KafkaAdmin(configuration: try client(cluster, mechanism: mechanism))
            try await admin.createTopic(NewTopic(name: "secured", partitions: 1))
            #expect(try await admin.listTopics().contains("secured"))
            let producer = try KafkaProducer(configuration: ProducerConfiguration(client: try client(cluster, mechanism: mechanism)))
            let metadata = try await producer.send(ProducerRecord(topic: "secured", value: "hello"))
            #expect(metadata.offset == 0)
            await producer.close()
            await admin.close()
        }
    }

    @Test("a session with a lifetime is renewed on the same connection before it ends (KIP-368); requests keep going through")
    func reauthenticates() async throws {
        var options = options()
        options.configuration.security.sasl.maxReauthenticationMilliseconds = 300
        // On a manual clock the broker never ends the session itself: what keeps the
        // connection authenticated is the client renewing it.
        options.clock = ManualClock()
        try await SamsaTestCluster.with(options) { cluster in
            let handshakes = cluster.observe(.saslHandshake) { _ in }
            let versions = cluster.observe(.apiVersions) { _ in }
            let producer = try KafkaProducer(configuration: ProducerConfiguration(client: try client(cluster, mechanism: "SCRAM-SHA-512")))
            var offsets: [Int64] = [try await producer.send(ProducerRecord(topic: "renewed", value: "0")).offset]
            let connected = (handshakes: handshakes.requestCount, versions: versions.requestCount)
            // Records keep going while the client renews its sessions (at 255-285 ms).
            while handshakes.requestCount < connected.handshakes * 2 + 1 {
                offsets.append(try await producer.send(ProducerRecord(topic: "renewed", value: "\(offsets.count)")).offset)
            }
            #expect(versions.requestCount == connected.versions, "no connection was opened again")
            #expect(offsets == Array(0..<Int64(offsets.count)), "every record acknowledged once, in order")
            await producer.close()
        }
    }

    @Test("the renewal comes between 85 % and 95 % of the session lifetime")
    func reauthenticationDelay() {
        for _ in 0..<100 {
            let delay = BrokerConnection.reauthenticationDelay(sessionLifetimeMs: 10_000)
            #expect(delay >= .milliseconds(8_500) && delay <= .milliseconds(9_500))
        }
    }

    @Test("a wrong password is refused with SASL_AUTHENTICATION_FAILED")
    func wrongPassword() async throws {
        try await SamsaTestCluster.with(options()) { cluster in
            let admin = KafkaAdmin(configuration: try client(cluster, mechanism: "SCRAM-SHA-512", password: "guess"))
            do {
                _ = try await admin.listTopics()
                Issue.record("a wrong password was accepted")
            } catch let error as SamsaClientError {
                guard case .noBrokerAvailable(_, let lastError) = error else {
                    Issue.record("unexpected \(error)")
                    return
                }
                #expect(lastError?.contains("SASL_AUTHENTICATION_FAILED") == true, "\(lastError ?? "")")
            }
            await admin.close()
        }
    }

    @Test("SASL settings without credentials are refused when the configuration is read")
    func missingCredentials() {
        #expect(throws: SamsaClientError.self) {
            try ClientConfiguration(properties: ["bootstrap.servers": "127.0.0.1:9092", "security.protocol": "SASL_SSL"])
        }
        #expect(throws: SamsaClientError.self) {
            try ClientConfiguration(properties: ["bootstrap.servers": "127.0.0.1:9092", "security.protocol": "KERBEROS"])
        }
    }
}
