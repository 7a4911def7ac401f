import Foundation
import NIOCore
import SamsaProtocol
import SamsaSCRAM
import SamsaTesting
import Testing

@testable import SamsaBroker

@Suite("SCRAM (RFC 5802, RFC 7677)")
struct ScramTests {
    /// RFC 7677 §3: user "user", password "pencil".
    private static let salt = Array(Data(base64Encoded: "W22ZaJ0SNY7soEsUEjb6gQ==")!)
    private static let credential = ScramCredential(hash: .sha256, password: "pencil", salt: salt, iterations: 4096)
    private static let clientFirst = "n,,n=user,r=rOprNGfwEbeRWgbNEkqO"
    private static let serverNonce = "%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0"
    private static let clientFinal =
        "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ="

    private func start(_ message: String = clientFirst, user: String = "user") throws(SASLFailure) -> (ScramServerExchange, String) {
        var exchange = ScramServerExchange(mechanism: .scramSHA256)
        let step = try exchange.receive(
            Array(message.utf8), credential: { $0 == user ? Self.credential : nil }, serverNonce: { Self.serverNonce })
        guard case .challenge(let bytes) = step else {
            Issue.record("no challenge")
            return (exchange, "")
        }
        return (exchange, String(decoding: bytes, as: UTF8.self))
    }

    @Test("the RFC 7677 exchange: the broker's challenge and signature are the RFC's")
    func rfc7677() throws {
        var (exchange, serverFirst) = try start()
        #expect(serverFirst == "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096")
        let final = try exchange.receive(Array(Self.clientFinal.utf8), credential: { _ in nil }, serverNonce: { "" })
        #expect(final == .authenticated(user: "user", finalMessage: Array("v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=".utf8)))
    }

    @Test("a wrong proof, a changed nonce or channel binding, and an unknown user are refused")
    func refusals() throws {
        var (wrongProof, _) = try start()
        let badProof = Self.clientFinal.replacingOccurrences(of: "p=dHzb", with: "p=dHzc")
        #expect(throws: SASLFailure.self) { try wrongProof.receive(Array(badProof.utf8), credential: { _ in nil }, serverNonce: { "" }) }

        var (wrongNonce, _) = try start()
        let badNonce = Self.clientFinal.replacingOccurrences(of: "hNlF$k0", with: "hNlF$k1")
        #expect(throws: SASLFailure.self) { try wrongNonce.receive(Array(badNonce.utf8), credential: { _ in nil }, serverNonce: { "" }) }

        var (wrongBinding, _) = try start()
        let badBinding = Self.clientFinal.replacingOccurrences(of: "c=biws", with: "c=eSws")
        #expect(throws: SASLFailure.self) {
            try wrongBinding.receive(Array(badBinding.utf8), credential: { _ in nil }, serverNonce: { "" })
        }

        #expect(throws: SASLFailure.self) { try start("n,,n=mallory,r=abc") }
        #expect(throws: SASLFailure.self) { try start("p=tls-unique,,n=user,r=abc") }
        #expect(throws: SASLFailure.self) { try start("n,a=admin,n=user,r=abc") }
        #expect(throws: SASLFailure.self) { try start("n,,n=user,r=abc,tokenauth=true") }
        #expect(throws: SASLFailure.self) { try start("garbage") }
    }

    @Test("escaped user names (=2C, =3D) are the names they stand for")
    func escapedNames() throws {
        let (_, challenge) = try start("n,,n=a=2Cb=3Dc,r=abc", user: "a,b=c")
        #expect(challenge.hasPrefix("r=abc\(Self.serverNonce),"))
        #expect(throws: SASLFailure.self) { try start("n,,n=a=2Xb,r=abc", user: "a=2Xb") }
    }

    @Test("a PLAIN password matches the credential made from it, and no other")
    func plainAgainstCredential() {
        #expect(Self.credential.matches(password: "pencil", hash: .sha256))
        #expect(!Self.credential.matches(password: "pencil2", hash: .sha256))
    }
}

@Suite("Listeners and security settings")
struct ListenerConfigurationTests {
    @Test("a listener list names, binds and advertises each listener")
    func listeners() throws {
        var configuration = BrokerConfiguration()
        try configuration.apply(key: "listeners", value: "INTERNAL://127.0.0.1:9092, external://:9093")
        try configuration.apply(key: "advertised.listeners", value: "EXTERNAL://broker.example.com:443")
        try configuration.apply(key: "listener.security.protocol.map", value: "INTERNAL:PLAINTEXT,EXTERNAL:SASL_SSL")
        try configuration.apply(key: "ssl.keystore.location", value: "/etc/samsa/broker.pem")
        #expect(configuration.listeners.map(\.name) == ["INTERNAL", "EXTERNAL"])
        #expect(configuration.listeners[1].host == "0.0.0.0" && configuration.listeners[1].port == 9093)
        #expect(configuration.listeners[1].advertisedHost == "broker.example.com" && configuration.listeners[1].advertisedPort == 443)
        let resolved = try configuration.resolvedListeners()
        #expect(resolved.map(\.securityProtocol) == [.plaintext, .saslSsl])
    }

    @Test("listeners that cannot start securely are refused before anything listens")
    func refusals() throws {
        var unmapped = BrokerConfiguration()
        try unmapped.apply(key: "listeners", value: "EXTERNAL://:9093")
        #expect(throws: ConfigurationError.self) { try unmapped.resolvedListeners() }

        var withoutCertificate = BrokerConfiguration()
        try withoutCertificate.apply(key: "listeners", value: "SSL://:9093")
        #expect(throws: ConfigurationError.self) { try withoutCertificate.resolvedListeners() }

        var unreadable = BrokerConfiguration()
        unreadable.security.tls.certificateChainPath = "/nonexistent/broker.pem"
        #expect(throws: ConfigurationError.self) { try unreadable.security.tls.makeServerContext(forSASL: false) }

        var settings = BrokerConfiguration()
        #expect(throws: ConfigurationError.self) { try settings.apply(key: "listeners", value: "PLAINTEXT//:9092") }
        #expect(throws: ConfigurationError.self) { try settings.apply(key: "listeners", value: "A://:1,a://:2") }
        #expect(throws: ConfigurationError.self) { try settings.apply(key: "advertised.listeners", value: "OTHER://h:1") }
        #expect(throws: ConfigurationError.self) { try settings.apply(key: "sasl.enabled.mechanisms", value: "GSSAPI") }
        #expect(throws: ConfigurationError.self) { try settings.apply(key: "ssl.client.auth", value: "sometimes") }
        #expect(throws: ConfigurationError.self) { try settings.apply(key: "sasl.users", value: "nopassword") }
        try settings.apply(key: "super.users", value: "User:admin;User:CN=ops,O=Example")
        #expect(settings.security.superUsers == [KafkaPrincipal(name: "admin"), KafkaPrincipal(name: "CN=ops,O=Example")])
    }
}

@Suite("SASL sessions")
struct ConnectionSessionTests {
    private func saslSession() -> ConnectionSession {
        ConnectionSession(
            listenerName: "SASL_SSL", securityProtocol: .saslSsl, maxFrameBytes: 100 << 20, maxFrameBytesBeforeAuthentication: 512 << 10)
    }

    @Test("before authentication only ApiVersions and SASL are served, within the smaller frame limit")
    func beforeAuthentication() throws {
        let session = saslSession()
        #expect(session.frameLimit.bytes == 512 << 10)
        #expect(session.admits(.apiVersions, now: 0) && session.admits(.saslHandshake, now: 0) && session.admits(.saslAuthenticate, now: 0))
        #expect(!session.admits(.metadata, now: 0) && !session.admits(.produce, now: 0))
        #expect(session.beginAuthentication(.plain, rawFrames: false))
        #expect(!session.admits(.metadata, now: 0))
        try session.authenticated(user: "alice", expiresAt: nil)
        #expect(session.admits(.metadata, now: .max - 1) && session.principal == KafkaPrincipal(name: "alice"))
        #expect(session.frameLimit.bytes == 100 << 20)
    }

    @Test("a session expires at connections.max.reauth.ms; re-authenticating keeps it serving and must keep the user")
    func reauthentication() throws {
        let session = saslSession()
        _ = session.beginAuthentication(.scramSHA512, rawFrames: false)
        try session.authenticated(user: "alice", expiresAt: 1_000)
        #expect(session.admits(.fetch, now: 999) && !session.admits(.fetch, now: 1_000))
        #expect(session.beginAuthentication(.scramSHA512, rawFrames: false))
        #expect(session.admits(.fetch, now: 999), "requests go on while the client re-authenticates")
        try session.authenticated(user: "alice", expiresAt: 2_000)
        #expect(session.admits(.fetch, now: 1_999))
        #expect(session.beginAuthentication(.plain, rawFrames: false))
        #expect(throws: SASLFailure.self) { try session.authenticated(user: "mallory", expiresAt: 3_000) }
        #expect(!session.admits(.fetch, now: 0) && session.principal == KafkaPrincipal(name: "alice"))
    }

    @Test("PLAINTEXT and SSL connections are served at once and refuse SaslHandshake")
    func withoutSASL() {
        let session = ConnectionSession.plaintext()
        #expect(session.admits(.produce, now: 0) && session.principal == .anonymous)
        #expect(!session.beginAuthentication(.plain, rawFrames: false))
    }
}
