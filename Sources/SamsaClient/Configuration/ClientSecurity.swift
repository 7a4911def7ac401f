import NIOSSL
import SamsaSCRAM

/// How the client secures its connections, with Kafka's client property names: TLS, SASL, or
/// both (`security.protocol`).
public struct ClientSecurity: Sendable {
    /// Kafka's `security.protocol`.
    public enum SecurityProtocol: String, Sendable {
        case plaintext = "PLAINTEXT"
        case ssl = "SSL"
        case saslPlaintext = "SASL_PLAINTEXT"
        case saslSsl = "SASL_SSL"

        var usesTLS: Bool { self == .ssl || self == .saslSsl }
        var usesSASL: Bool { self == .saslPlaintext || self == .saslSsl }
    }

    /// A SASL mechanism and the credentials for it.
    public enum SASLMechanism: String, Sendable {
        case plain = "PLAIN"
        case scramSHA256 = "SCRAM-SHA-256"
        case scramSHA512 = "SCRAM-SHA-512"
    }

    public var securityProtocol: SecurityProtocol = .plaintext
    /// `sasl.mechanism` (or librdkafka's `sasl.mechanisms`).
    public var saslMechanism: SASLMechanism = .plain
    /// `sasl.username` and `sasl.password`.
    public var username: String?
    public var password: String?
    /// `ssl.ca.location`: the CAs that sign the brokers' certificates, in PEM; the system's
    /// trust store when nil.
    public var caPath: String?
    /// `ssl.certificate.location` and `ssl.key.location`: the client's own certificate (mTLS).
    public var certificatePath: String?
    public var keyPath: String?
    /// `ssl.key.password`.
    public var keyPassword: String?
    /// `ssl.endpoint.identification.algorithm`: `https` checks that the broker's certificate
    /// names the host connected to; `none` does not.
    public var verifiesHostname = true

    public init() {}

    /// The TLS context of a connection, nil without TLS. Throws for unreadable files.
    func makeTLSContext() throws -> NIOSSLContext? {
        guard securityProtocol.usesTLS else { return nil }
        var configuration = TLSConfiguration.makeClientConfiguration()
        configuration.minimumTLSVersion = .tlsv12
        if let caPath {
            configuration.trustRoots = .certificates(try NIOSSLCertificate.fromPEMFile(caPath))
        }
        if let certificatePath {
            configuration.certificateChain = try NIOSSLCertificate.fromPEMFile(certificatePath).map { .certificate($0) }
            let key = keyPath ?? certificatePath
            if let keyPassword {
                configuration.privateKey = .privateKey(
                    try NIOSSLPrivateKey(file: key, format: .pem) { setPassphrase in setPassphrase(Array(keyPassword.utf8)) })
            } else {
                configuration.privateKey = .privateKey(try NIOSSLPrivateKey(file: key, format: .pem))
            }
        }
        configuration.certificateVerification = verifiesHostname ? .fullVerification : .noHostnameVerification
        return try NIOSSLContext(configuration: configuration)
    }
}

extension ClientSecurity.SASLMechanism {
    var scram: ScramHash? {
        switch self {
        case .plain: nil
        case .scramSHA256: .sha256
        case .scramSHA512: .sha512
        }
    }
}
