/// The broker's security settings: what each listener's name means, TLS, SASL and who is a
/// super user. With the defaults, every listener is PLAINTEXT and nothing is checked.
public struct SecurityConfiguration: Sendable {
    /// `listener.security.protocol.map`: the security protocol of each listener name that is
    /// not itself a protocol's name (`INTERNAL:PLAINTEXT,EXTERNAL:SASL_SSL`).
    public var protocolMap: [String: SecurityProtocol] = [:]
    /// Certificates for SSL and SASL_SSL listeners.
    public var tls = TLSSettings()
    /// Authentication on SASL_PLAINTEXT and SASL_SSL listeners.
    public var sasl = SASLSettings()
    /// `super.users`: principals every operation is allowed to.
    public var superUsers: Set<KafkaPrincipal> = []
    /// ACLs are checked on every API (`authorizer.class.name` set to any authorizer).
    public var authorizerEnabled = false
    /// `allow.everyone.if.no.acl.found`: a resource no ACL covers is open to everyone.
    public var allowEveryoneIfNoAclFound = false

    public init() {}

    /// The security protocol of the listener called `name`, nil if it has none.
    public func securityProtocol(ofListener name: String) -> SecurityProtocol? {
        protocolMap[name] ?? SecurityProtocol(rawValue: name)
    }

    /// Parses `NAME:PROTOCOL,...`.
    static func parseProtocolMap(_ text: String) throws(ConfigurationError) -> [String: SecurityProtocol] {
        var map: [String: SecurityProtocol] = [:]
        for entry in text.split(separator: ",").map({ $0.trimmingWhitespace() }) where !entry.isEmpty {
            let parts = entry.split(separator: ":", maxSplits: 1)
            guard parts.count == 2, let value = SecurityProtocol(rawValue: parts[1].uppercased()) else {
                throw ConfigurationError(
                    "expected NAME:PROTOCOL with PROTOCOL one of \(SecurityProtocol.allCases.map(\.rawValue).joined(separator: ", ")), got `\(entry)`"
                )
            }
            map[parts[0].uppercased()] = value
        }
        return map
    }
}

/// TLS for SSL and SASL_SSL listeners, from PEM files (Kafka's `ssl.keystore.type=PEM`).
public struct TLSSettings: Sendable {
    /// Whether a client must present a certificate (`ssl.client.auth`).
    public enum ClientAuthentication: String, Sendable, CaseIterable {
        /// Not asked for.
        case none
        /// Asked for and verified if given; a client without one is ANONYMOUS.
        case requested
        /// Required: a client without a certificate signed by a trusted CA is refused. Its
        /// principal is the certificate's subject, `User:CN=...,O=...`.
        case required
    }

    /// `ssl.keystore.location`: the broker's certificate chain in PEM, leaf first, and its
    /// private key unless ``privateKeyPath`` is set.
    public var certificateChainPath: String?
    /// `ssl.key.location` (librdkafka's name): the private key in PEM, if it is not in the
    /// certificate file.
    public var privateKeyPath: String?
    /// `ssl.key.password`: the passphrase of an encrypted private key.
    public var privateKeyPassword: String?
    /// `ssl.truststore.location`: the CAs that sign client certificates, in PEM.
    public var trustedCertificatesPath: String?
    /// `ssl.client.auth`.
    public var clientAuthentication: ClientAuthentication = .none
    /// `ssl.enabled.protocols`: TLSv1.2 and TLSv1.3 by default.
    public var enabledProtocols: [String] = ["TLSv1.2", "TLSv1.3"]

    public init() {}
}

/// SASL authentication (SaslHandshake and SaslAuthenticate) on SASL listeners.
public struct SASLSettings: Sendable {
    /// `sasl.enabled.mechanisms`.
    public var enabledMechanisms: [SASLMechanism] = [.plain, .scramSHA256, .scramSHA512]
    /// `connections.max.reauth.ms`: how long an authentication lasts before the client must
    /// authenticate again on the same connection (KIP-368); 0 for ever.
    public var maxReauthenticationMilliseconds: Int64 = 0
    /// `sasl.server.max.receive.size`: the largest frame before and during authentication.
    public var maxReceiveBytes: Int = 524_288
    /// `connection.failed.authentication.delay.ms`: how long a failed authentication waits
    /// before its answer and the close, against password guessing.
    public var failedAuthenticationDelayMilliseconds: Int64 = 100
    /// Users created at start if they have no credentials yet, so the first administrator
    /// can log in (`sasl.users=admin:secret`). Existing credentials are left as they are.
    public var bootstrapUsers: [(name: String, password: String)] = []
    /// `scram.iterations`: the iterations of credentials the broker makes itself.
    public var scramIterations: Int = 4096

    public init() {}
}
