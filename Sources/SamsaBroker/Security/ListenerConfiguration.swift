/// One listener of the broker: a named address with its own security protocol, as in Kafka's
/// `listeners=PLAINTEXT://127.0.0.1:9092,SASL_SSL://:9093`.
public struct ListenerConfiguration: Sendable, Equatable {
    /// The listener's name: a security protocol's name, or any name that
    /// `listener.security.protocol.map` maps to one.
    public var name: String
    /// The address to bind; "0.0.0.0" for every interface.
    public var host: String
    /// The port to bind; 0 picks a free one.
    public var port: Int
    /// What clients of this listener are told to connect to (`advertised.listeners`); nil
    /// advertises the bound address.
    public var advertisedHost: String?
    public var advertisedPort: Int?

    public init(name: String, host: String, port: Int, advertisedHost: String? = nil, advertisedPort: Int? = nil) {
        self.name = name
        self.host = host
        self.port = port
        self.advertisedHost = advertisedHost
        self.advertisedPort = advertisedPort
    }

    /// `PLAINTEXT://127.0.0.1:9092`.
    public var description: String { "\(name)://\(Self.bracketed(host)):\(port)" }

    /// Parses Kafka's listener list: `NAME://HOST:PORT` entries separated by commas. An empty
    /// host means every interface; an IPv6 host is written in brackets.
    public static func parseList(_ text: String) throws(ConfigurationError) -> [(name: String, host: String, port: Int)] {
        var result: [(name: String, host: String, port: Int)] = []
        for entry in text.split(separator: ",").map({ $0.trimmingWhitespace() }) where !entry.isEmpty {
            let parts = entry.split(separator: "://", maxSplits: 1, omittingEmptySubsequences: false)
            guard parts.count == 2 else {
                throw ConfigurationError("expected NAME://HOST:PORT, got `\(entry)`")
            }
            let name = parts[0].uppercased()
            guard !name.isEmpty, name.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "_" || $0 == "-" }) else {
                throw ConfigurationError("`\(entry)` has no valid listener name")
            }
            guard !result.contains(where: { $0.name == name }) else {
                throw ConfigurationError("listener \(name) is named twice")
            }
            let (host, port) = try BrokerConfiguration.parseHostPort(String(parts[1]))
            result.append((name, host, port))
        }
        guard !result.isEmpty else { throw ConfigurationError("expected at least one NAME://HOST:PORT") }
        return result
    }

    static func bracketed(_ host: String) -> String { host.contains(":") ? "[\(host)]" : host }
}
