import NIOCore
import SamsaProtocol
import SamsaSCRAM
import SamsaTesting
import Testing

@testable import SamsaBroker

/// Requests of one SASL connection handed straight to the broker's processor, as its server
/// would: what is answered, what closes the connection.
private struct SaslTestConnection {
    let broker: Broker
    let context: ConnectionContext
    private var correlationId: Int32 = 1

    init(broker: Broker, listener: SecurityProtocol = .saslPlaintext) {
        self.broker = broker
        self.context = ConnectionContext(
            connectionID: 1, remoteAddress: try? SocketAddress(ipAddress: "127.0.0.1", port: 40000), allocator: ByteBufferAllocator(),
            session: ConnectionSession(
                listenerName: listener.rawValue, securityProtocol: listener, maxFrameBytes: 1 << 20, maxFrameBytesBeforeAuthentication: 1024
            ))
    }

    enum Outcome<Response> {
        case answered(Response, closes: Bool)
        case closed(String)
    }

    mutating func send<Request: KafkaRequestMessage>(_ request: Request, version: Int16) async throws -> Outcome<Request.Response> {
        var body = ByteBufferAllocator().buffer(capacity: 128)
        KafkaRequest.encode(request, version: version, correlationId: correlationId, clientId: "sasl-test", into: &body)
        correlationId += 1
        let frame: ResponseFrame?
        do {
            frame = try await broker.process(body, connection: context)
        } catch {
            return .closed(error.reason)
        }
        guard let frame, case .byteBuffer(var buffer) = frame.parts.first else { throw SaslTestError.noAnswer }
        let (_, response) = try KafkaResponse.decode(Request.Response.self, version: version, from: &buffer)
        return .answered(response, closes: frame.closesConnection)
    }

    /// A bare frame after SaslHandshake v0.
    func sendRaw(_ token: [UInt8]) async -> [UInt8]? {
        guard let frame = try? await broker.process(ByteBuffer(bytes: token), connection: context),
            case .byteBuffer(let buffer) = frame.parts.first
        else { return nil }
        return Array(buffer.readableBytesView)
    }
}

private enum SaslTestError: Error { case noAnswer }

private func handshake(_ mechanism: String) -> SaslHandshakeRequest {
    var request = SaslHandshakeRequest()
    request.mechanism = mechanism
    return request
}

private func authenticate(_ token: [UInt8]) -> SaslAuthenticateRequest {
    var request = SaslAuthenticateRequest()
    request.authBytes = ByteBuffer(bytes: token)
    return request
}

private func plain(_ user: String, _ password: String) -> [UInt8] { [0] + Array(user.utf8) + [0] + Array(password.utf8) }

private func withSaslBroker<Result: Sendable>(
    _ directory: TestDataDirectory = .inMemory(), reauthMilliseconds: Int64 = 0, _ body: (Broker) async throws -> Result
) async throws -> Result {
    try await withTestBroker(dataDirectory: directory) { configuration in
        configuration.security.sasl.bootstrapUsers = [("alice", "alice-secret")]
        configuration.security.sasl.failedAuthenticationDelayMilliseconds = 0
        configuration.security.sasl.maxReauthenticationMilliseconds = reauthMilliseconds
    } _: { broker, _ in
        try await body(broker)
    }
}

@Suite("SASL authentication through the broker")
struct SaslAuthenticationTests {
    @Test("PLAIN with the bootstrap user's password authenticates; Metadata before it closes the connection")
    func plainAuthenticates() async throws {
        try await withSaslBroker { broker in
            var early = SaslTestConnection(broker: broker)
            guard case .closed(let reason) = try await early.send(MetadataRequest(), version: 12) else {
                Issue.record("Metadata was served before authentication")
                return
            }
            #expect(reason.contains("before authentication"))

            var connection = SaslTestConnection(broker: broker)
            guard case .answered(let shake, false) = try await connection.send(handshake("PLAIN"), version: 1) else {
                Issue.record("no handshake answer")
                return
            }
            #expect(shake.errorCode == 0 && shake.mechanisms == ["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"])
            guard case .answered(let answer, false) = try await connection.send(authenticate(plain("alice", "alice-secret")), version: 2)
            else {
                Issue.record("PLAIN was refused")
                return
            }
            #expect(answer.errorCode == 0 && answer.sessionLifetimeMs == 0)
            #expect(connection.context.session.principal == KafkaPrincipal(name: "alice"))
            guard case .answered = try await connection.send(MetadataRequest(), version: 12) else {
                Issue.record("Metadata was refused after authentication")
                return
            }
        }
    }

    @Test("a wrong password gets SASL_AUTHENTICATION_FAILED and a closing answer, and nothing after it is served")
    func wrongPassword() async throws {
        try await withSaslBroker { broker in
            var connection = SaslTestConnection(broker: broker)
            _ = try await connection.send(handshake("PLAIN"), version: 1)
            guard case .answered(let answer, closes: true) = try await connection.send(authenticate(plain("alice", "guess")), version: 1)
            else {
                Issue.record("a wrong password was not refused with a closing answer")
                return
            }
            #expect(answer.errorCode == ErrorCode.saslAuthenticationFailed.rawValue)
            guard case .closed = try await connection.send(MetadataRequest(), version: 12) else {
                Issue.record("a request after a failed authentication was served")
                return
            }
        }
    }

    @Test("frames sent after a refused login are not started: the connection ends and frees its slot")
    func burstAfterRefusedLogin() async throws {
        try await withTestBroker(dataDirectory: .inMemory()) { configuration in
            configuration.listeners = [ListenerConfiguration(name: "SASL_PLAINTEXT", host: "127.0.0.1", port: 0)]
            configuration.security.sasl.bootstrapUsers = [("alice", "alice-secret")]
            configuration.security.sasl.failedAuthenticationDelayMilliseconds = 0
            // One connection per address: the next one is served only once this one has ended.
            configuration.maxConnectionsPerIP = 1
        } _: { _, address in
            try await TestConnection.with(address, clientId: "burst") { connection in
                // A bad login and 40 frames behind it, in one write: more than a connection may
                // have in flight, all read by NIO before the refusal is answered.
                var burst = connection.frame(handshake("PLAIN"), version: 1)
                var refused = connection.frame(authenticate(plain("alice", "guess")), version: 2)
                burst.writeBuffer(&refused)
                for _ in 0..<40 {
                    var versions = connection.frame(ApiVersionsRequest(), version: 0)
                    burst.writeBuffer(&versions)
                }
                try await connection.writeBytes(burst)
                _ = try await connection.receiveFrame()
                var answer = try await connection.receiveFrame()
                let (_, login) = try KafkaResponse.decode(SaslAuthenticateResponse.self, version: 2, from: &answer)
                #expect(login.errorCode == ErrorCode.saslAuthenticationFailed.rawValue)
                #expect(await connection.isClosedByPeer(), "an answer came after the refusal")
            }
            // The ended connection's task is over (it used to wait forever for pipeline room
            // that no answer would free), so its slot is free again.
            let served = try await testEventually {
                let answered = try? await TestConnection.with(address, clientId: "next") { next in
                    try await next.send(ApiVersionsRequest(), version: 0).errorCode == 0
                }
                return answered == true
            }
            #expect(served)
        }
    }

    @Test("an unknown mechanism gets UNSUPPORTED_SASL_MECHANISM with the list, and the connection closes")
    func unknownMechanism() async throws {
        try await withSaslBroker { broker in
            var connection = SaslTestConnection(broker: broker)
            guard case .answered(let shake, closes: true) = try await connection.send(handshake("GSSAPI"), version: 1) else {
                Issue.record("GSSAPI was not refused")
                return
            }
            #expect(shake.errorCode == ErrorCode.unsupportedSaslMechanism.rawValue && shake.mechanisms.contains("SCRAM-SHA-512"))
        }
    }

    @Test("after SaslHandshake v0 the PLAIN token travels as a bare frame")
    func handshakeV0() async throws {
        try await withSaslBroker { broker in
            var connection = SaslTestConnection(broker: broker)
            _ = try await connection.send(handshake("PLAIN"), version: 0)
            #expect(await connection.sendRaw(plain("alice", "alice-secret")) == [])
            guard case .answered = try await connection.send(MetadataRequest(), version: 1) else {
                Issue.record("Metadata was refused after a v0 authentication")
                return
            }
        }
    }

    @Test("the session lifetime is connections.max.reauth.ms, and the manual clock expires it")
    func sessionLifetime() async throws {
        let directory = TestDataDirectory.inMemory()
        try await withSaslBroker(directory, reauthMilliseconds: 60_000) { broker in
            var connection = SaslTestConnection(broker: broker)
            _ = try await connection.send(handshake("PLAIN"), version: 1)
            guard case .answered(let answer, false) = try await connection.send(authenticate(plain("alice", "alice-secret")), version: 1)
            else {
                Issue.record("PLAIN was refused")
                return
            }
            #expect(answer.sessionLifetimeMs == 60_000)
            directory.clock.advance(byMilliseconds: 60_000)
            guard case .closed(let reason) = try await connection.send(MetadataRequest(), version: 12) else {
                Issue.record("an expired session was served")
                return
            }
            #expect(reason.contains("expired"))
        }
    }

    @Test("SCRAM credentials are altered, described and deleted, and kept across a restart")
    func credentialsAdmin() async throws {
        let directory = TestDataDirectory.inMemory()
        try await withSaslBroker(directory) { broker in
            var connection = SaslTestConnection(broker: broker, listener: .plaintext)
            var alter = AlterUserScramCredentialsRequest()
            var upsertion = AlterUserScramCredentialsRequest.ScramCredentialUpsertion()
            upsertion.name = "bob"
            upsertion.mechanism = 2
            upsertion.iterations = 4096
            upsertion.salt = ByteBuffer(bytes: [1, 2, 3, 4])
            upsertion.saltedPassword = ByteBuffer(
                bytes: ScramHash.sha512.saltedPassword(Array("bob-secret".utf8), salt: [1, 2, 3, 4], iterations: 4096))
            var weak = upsertion
            weak.name = "weak"
            weak.iterations = 1000
            var deletion = AlterUserScramCredentialsRequest.ScramCredentialDeletion()
            deletion.name = "nobody"
            deletion.mechanism = 1
            alter.upsertions = [upsertion, weak]
            alter.deletions = [deletion]
            guard case .answered(let altered, _) = try await connection.send(alter, version: 0) else { return }
            let codes = Dictionary(uniqueKeysWithValues: altered.results.map { ($0.user, $0.errorCode) })
            #expect(codes == ["bob": 0, "weak": ErrorCode.unacceptableCredential.rawValue, "nobody": ErrorCode.resourceNotFound.rawValue])
            #expect(broker.core.topics.image.scramCredentials["bob"]?[.scramSHA512]?.matches(password: "bob-secret", hash: .sha512) == true)
        }
        try await withSaslBroker(directory) { broker in
            var connection = SaslTestConnection(broker: broker, listener: .plaintext)
            guard case .answered(let described, _) = try await connection.send(DescribeUserScramCredentialsRequest(), version: 0) else {
                return
            }
            #expect(described.results.map(\.user) == ["alice", "bob"])
            #expect(described.results[1].credentialInfos.map { [$0.mechanism, Int8($0.iterations / 1024)] } == [[2, 4]])
            #expect(described.results[0].credentialInfos.map(\.mechanism) == [1, 2], "the bootstrap user has both mechanisms")
        }
    }
}
