/// How a listener secures its connections: Kafka's `security.protocol` values.
public enum SecurityProtocol: String, Sendable, CaseIterable {
    case plaintext = "PLAINTEXT"
    case ssl = "SSL"
    case saslPlaintext = "SASL_PLAINTEXT"
    case saslSsl = "SASL_SSL"

    /// Connections are TLS.
    public var usesTLS: Bool { self == .ssl || self == .saslSsl }
    /// Clients authenticate with SASL before anything else is served.
    public var usesSASL: Bool { self == .saslPlaintext || self == .saslSsl }
}

/// Who a connection acts for, in Kafka's `Type:name` form (`User:alice`). ACLs and quotas
/// name principals this way.
public struct KafkaPrincipal: Hashable, Sendable, CustomStringConvertible {
    /// `User` for every principal this broker makes.
    public var type: String
    public var name: String

    public init(type: String = "User", name: String) {
        self.type = type
        self.name = name
    }

    /// The principal of a connection that did not authenticate (PLAINTEXT, or TLS without a
    /// client certificate).
    public static let anonymous = KafkaPrincipal(name: "ANONYMOUS")

    /// Parses `Type:name`; the name may itself hold colons (`User:CN=a,O=b:c`).
    public init?(parsing text: some StringProtocol) {
        guard let colon = text.firstIndex(of: ":"), colon != text.startIndex else { return nil }
        let name = text[text.index(after: colon)...]
        guard !name.isEmpty else { return nil }
        self.init(type: String(text[..<colon]), name: String(name))
    }

    public var description: String { "\(type):\(name)" }
}
