import CoreMetrics

/// How a client reaches a cluster: shared by producers, consumers and the admin client.
public struct ClientConfiguration: Sendable {
    /// `bootstrap.servers`: brokers to ask for the cluster's metadata first.
    public var bootstrapServers: [BrokerAddress]
    /// `client.id`: the name brokers log and quote this client by.
    public var clientId: String = "samsa"
    /// `request.timeout.ms`: how long to wait for a broker's answer.
    public var requestTimeoutMs: Int64 = 30_000
    /// `socket.connection.setup.timeout.ms`: how long to wait for a connection.
    public var connectTimeoutMs: Int64 = 10_000
    /// `retry.backoff.ms`: the first wait before a retry; it doubles up to `retryBackoffMaxMs`,
    /// with ±20 % jitter.
    public var retryBackoffMs: Int64 = 100
    /// `retry.backoff.max.ms`.
    public var retryBackoffMaxMs: Int64 = 1_000
    /// `metadata.max.age.ms`: metadata older than this is refreshed before use.
    public var metadataMaxAgeMs: Int64 = 300_000
    /// The largest response frame accepted, in bytes.
    public var maxResponseBytes: Int = 256 * 1024 * 1024
    /// Where the client's metrics go; nil for the factory bootstrapped in swift-metrics'
    /// `MetricsSystem` (which drops them unless the application bootstrapped one).
    public var metricsFactory: (any MetricsFactory)?
    /// TLS and SASL (`security.protocol`, `sasl.*`, `ssl.*`).
    public var security = ClientSecurity()

    public init(bootstrapServers: [BrokerAddress]) {
        self.bootstrapServers = bootstrapServers
    }

    /// `bootstrap.servers` as Kafka writes it: `host:port,host:port`.
    public init(bootstrapServers: String) throws {
        let addresses = try Self.parseServers(bootstrapServers)
        self.init(bootstrapServers: addresses)
    }

    /// The Kafka property names ``init(properties:)`` reads; producers and consumers read these
    /// and their own.
    public static let propertyNames: Set<String> = [
        "bootstrap.servers", "client.id", "request.timeout.ms", "socket.connection.setup.timeout.ms", "retry.backoff.ms",
        "retry.backoff.max.ms", "metadata.max.age.ms", "security.protocol", "sasl.mechanism", "sasl.mechanisms", "sasl.username",
        "sasl.password", "ssl.ca.location", "ssl.certificate.location", "ssl.key.location", "ssl.key.password",
        "ssl.endpoint.identification.algorithm",
    ]

    /// Builds the settings from Kafka's property names (`bootstrap.servers`, `client.id`,
    /// `request.timeout.ms`, `socket.connection.setup.timeout.ms`, `retry.backoff.ms`,
    /// `retry.backoff.max.ms`, `metadata.max.age.ms`); other names are refused.
    public init(properties: [String: String]) throws {
        var reader = KafkaProperties(properties)
        self = try reader.client()
        try reader.checkAllUsed()
    }

    static func parseServers(_ text: String) throws -> [BrokerAddress] {
        let parts = text.split(separator: ",").map(String.init).filter { !$0.allSatisfy { $0 == " " } }
        let addresses = try parts.map { part in
            guard let address = BrokerAddress(part) else {
                throw SamsaClientError.invalidConfiguration("bootstrap.servers: '\(part)' is not host:port")
            }
            return address
        }
        guard !addresses.isEmpty else { throw SamsaClientError.invalidConfiguration("bootstrap.servers is empty") }
        return addresses
    }

    /// The retry backoff before attempt `attempt` (0 for the first retry), with jitter from `random`.
    func backoffMs(attempt: Int, random: Double) -> Int64 {
        let base = Double(retryBackoffMs) * Double(1 << min(attempt, 20))
        let capped = min(base, Double(retryBackoffMaxMs))
        return max(1, Int64(capped * (0.8 + 0.4 * random)))
    }
}

/// Kafka property names (`bootstrap.servers`, `acks`, ...) read into typed configurations, so
/// existing configs carry over. Unknown names are refused with their name, as a typo is more
/// likely than an intent.
struct KafkaProperties {
    private var values: [String: String]
    private(set) var used: Set<String> = []

    init(_ values: [String: String]) {
        self.values = values
    }

    mutating func string(_ name: String) -> String? {
        used.insert(name)
        return values[name]
    }

    mutating func int(_ name: String) throws -> Int64? {
        guard let text = string(name) else { return nil }
        guard let value = Int64(text.trimmingSpaces) else {
            throw SamsaClientError.invalidConfiguration("\(name): '\(text)' is not a number")
        }
        return value
    }

    mutating func bool(_ name: String) throws -> Bool? {
        guard let text = string(name) else { return nil }
        switch text.trimmingSpaces.lowercased() {
        case "true": return true
        case "false": return false
        default: throw SamsaClientError.invalidConfiguration("\(name): '\(text)' is not true or false")
        }
    }

    /// The properties never read.
    var unusedNames: Set<String> { Set(values.keys).subtracting(used) }

    /// Throws for any property that was never read.
    func checkAllUsed() throws {
        try Self.refuse(unknown: unusedNames)
    }

    /// Throws naming `unknown`, unless it is empty.
    static func refuse(unknown: Set<String>) throws {
        guard unknown.isEmpty else {
            throw SamsaClientError.invalidConfiguration("unknown properties: \(unknown.sorted().joined(separator: ", "))")
        }
    }

    /// The client settings every kind of client shares.
    mutating func client() throws -> ClientConfiguration {
        guard let servers = string("bootstrap.servers") else {
            throw SamsaClientError.invalidConfiguration("bootstrap.servers is required")
        }
        var configuration = try ClientConfiguration(bootstrapServers: servers)
        if let value = string("client.id") { configuration.clientId = value }
        if let value = try int("request.timeout.ms") { configuration.requestTimeoutMs = value }
        if let value = try int("socket.connection.setup.timeout.ms") { configuration.connectTimeoutMs = value }
        if let value = try int("retry.backoff.ms") { configuration.retryBackoffMs = value }
        if let value = try int("retry.backoff.max.ms") { configuration.retryBackoffMaxMs = value }
        if let value = try int("metadata.max.age.ms") { configuration.metadataMaxAgeMs = value }
        configuration.security = try security()
        return configuration
    }

    /// `security.protocol`, `sasl.*` and `ssl.*`, as Java and librdkafka name them.
    private mutating func security() throws -> ClientSecurity {
        var security = ClientSecurity()
        if let value = string("security.protocol") {
            guard let parsed = ClientSecurity.SecurityProtocol(rawValue: value.trimmingSpaces.uppercased()) else {
                throw SamsaClientError.invalidConfiguration(
                    "security.protocol: '\(value)' is not PLAINTEXT, SSL, SASL_PLAINTEXT or SASL_SSL")
            }
            security.securityProtocol = parsed
        }
        if let value = string("sasl.mechanism") ?? string("sasl.mechanisms") {
            guard let parsed = ClientSecurity.SASLMechanism(rawValue: value.trimmingSpaces.uppercased()) else {
                throw SamsaClientError.invalidConfiguration("sasl.mechanism: '\(value)' is not PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512")
            }
            security.saslMechanism = parsed
        }
        security.username = string("sasl.username")
        security.password = string("sasl.password")
        security.caPath = string("ssl.ca.location")
        security.certificatePath = string("ssl.certificate.location")
        security.keyPath = string("ssl.key.location")
        security.keyPassword = string("ssl.key.password")
        if let value = string("ssl.endpoint.identification.algorithm") {
            security.verifiesHostname = value.trimmingSpaces.lowercased() == "https"
        }
        if security.securityProtocol.usesSASL, security.username == nil || security.password == nil {
            throw SamsaClientError.invalidConfiguration(
                "security.protocol \(security.securityProtocol.rawValue) needs sasl.username and sasl.password")
        }
        return security
    }
}

extension StringProtocol {
    var trimmingSpaces: String {
        String(drop { $0 == " " }.reversed().drop { $0 == " " }.reversed())
    }
}
