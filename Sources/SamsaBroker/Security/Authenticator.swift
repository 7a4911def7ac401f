#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Logging
import NIOCore
import SamsaProtocol
import SamsaStorage

/// Authenticates SASL connections against the users' SCRAM credentials: answers SaslHandshake
/// and the tokens of SaslAuthenticate (or of bare frames after SaslHandshake v0).
///
/// PLAIN checks the password against the user's SCRAM credential, so one set of users serves
/// every mechanism and no password is stored.
package final class Authenticator: Sendable {
    private let settings: SASLSettings
    private let registry: TopicRegistry
    private let clock: any BrokerClock
    private let random: any RandomSource
    private let blocking: BlockingWork
    private let logger: Logger

    init(
        settings: SASLSettings, registry: TopicRegistry, clock: any BrokerClock, random: any RandomSource, blocking: BlockingWork,
        logger: Logger
    ) {
        self.settings = settings
        self.registry = registry
        self.clock = clock
        self.random = random
        self.blocking = blocking
        self.logger = logger
    }

    /// The mechanisms offered, by their names.
    var enabledMechanisms: [String] { settings.enabledMechanisms.map(\.rawValue) }

    /// Answers SaslHandshake: the mechanism is chosen, or UNSUPPORTED_SASL_MECHANISM, or
    /// ILLEGAL_SASL_STATE where no handshake is expected (on a connection that does not use
    /// SASL, or twice in one authentication).
    func handshake(_ request: SaslHandshakeRequest, version: Int16, session: ConnectionSession, peer: String) -> SaslHandshakeResponse {
        var response = SaslHandshakeResponse()
        response.mechanisms = enabledMechanisms
        guard session.securityProtocol.usesSASL else {
            response.errorCode = ErrorCode.illegalSaslState.rawValue
            return response
        }
        guard let mechanism = SASLMechanism(rawValue: request.mechanism), settings.enabledMechanisms.contains(mechanism) else {
            logger.warning(
                "authentication failed",
                metadata: ["peer": "\(peer)", "mechanism": "\(request.mechanism)", "reason": "unsupported mechanism"])
            session.failed()
            response.errorCode = ErrorCode.unsupportedSaslMechanism.rawValue
            return response
        }
        if !session.beginAuthentication(mechanism, rawFrames: version == 0) {
            session.failed()
            response.errorCode = ErrorCode.illegalSaslState.rawValue
        }
        return response
    }

    /// What a SASL token gets back.
    struct TokenAnswer: Sendable {
        var bytes: [UInt8]
        /// The session's lifetime once authenticated (SaslAuthenticate v1+), 0 for ever.
        var sessionLifetimeMilliseconds: Int64 = 0
    }

    /// Takes the client's next token. A failure has already been delayed by
    /// `connection.failed.authentication.delay.ms` and logged (user, peer and mechanism);
    /// the caller answers it and closes the connection.
    func authenticate(token: ByteBuffer, session: ConnectionSession, peer: String) async throws(SASLFailure) -> TokenAnswer {
        var mechanismName = "-"
        do throws(SASLFailure) {
            let phase = session.phase
            switch phase {
            case .awaitingToken(.plain, _):
                mechanismName = SASLMechanism.plain.rawValue
                let user = try await authenticatePlain(Array(token.readableBytesView))
                return TokenAnswer(bytes: [], sessionLifetimeMilliseconds: try accept(user: user, session: session))
            case .awaitingToken(let mechanism, let raw):
                mechanismName = mechanism.rawValue
                return try scramStep(ScramServerExchange(mechanism: mechanism), raw: raw, token: token, session: session)
            case .scram(let exchange, let raw):
                mechanismName = exchange.mechanism.rawValue
                return try scramStep(exchange, raw: raw, token: token, session: session)
            case .open, .awaitingHandshake, .authenticated, .failed:
                throw SASLFailure(user: nil, "Authentication failed: SaslAuthenticate was not expected now (send SaslHandshake first)")
            }
        } catch {
            session.failed()
            logger.warning(
                "authentication failed",
                metadata: [
                    "peer": "\(peer)", "user": "\(error.user ?? "-")", "mechanism": "\(mechanismName)", "reason": "\(error.message)",
                ])
            let delay = settings.failedAuthenticationDelayMilliseconds
            if delay > 0 {
                try? await clock.sleep(untilMilliseconds: clock.nowMilliseconds() + delay)
            }
            throw error
        }
    }

    private func scramStep(
        _ exchange: ScramServerExchange, raw: Bool, token: ByteBuffer, session: ConnectionSession
    ) throws(SASLFailure)
        -> TokenAnswer
    {
        var exchange = exchange
        let mechanism = exchange.mechanism
        let image = registry.image
        let step = try exchange.receive(
            Array(token.readableBytesView),
            credential: { image.scramCredentials[$0]?[mechanism] },
            serverNonce: { Data(random.bytes(count: 24)).base64EncodedString() })
        switch step {
        case .challenge(let bytes):
            try session.advance { _ throws(SASLFailure) in (.scram(exchange, rawFrames: raw), ()) }
            return TokenAnswer(bytes: bytes)
        case .authenticated(let user, let finalMessage):
            return TokenAnswer(bytes: finalMessage, sessionLifetimeMilliseconds: try accept(user: user, session: session))
        }
    }

    /// Checks a PLAIN message, `authzid NUL user NUL password`, on the blocking pool (it
    /// derives the salted password, thousands of HMACs).
    private func authenticatePlain(_ message: [UInt8]) async throws(SASLFailure) -> String {
        let parts = message.split(separator: 0, maxSplits: 2, omittingEmptySubsequences: false)
        guard parts.count == 3, let authorizationID = String(validating: parts[0], as: UTF8.self),
            let user = String(validating: parts[1], as: UTF8.self), let password = String(validating: parts[2], as: UTF8.self),
            !user.isEmpty
        else {
            throw SASLFailure(user: nil, "Authentication failed: malformed PLAIN message")
        }
        guard authorizationID.isEmpty || authorizationID == user else {
            throw SASLFailure(user: user, "Authentication failed: authorization id \(authorizationID) is not the user \(user)")
        }
        let credentials = registry.image.scramCredentials[user] ?? [:]
        let candidate = [SASLMechanism.scramSHA256, .scramSHA512].lazy.compactMap { mechanism in
            credentials[mechanism].map { (credential: $0, hash: mechanism.scram!) }
        }.first
        let matches: Bool
        if let candidate {
            matches = (try? await blocking.run { candidate.credential.matches(password: password, hash: candidate.hash) }) ?? false
        } else {
            matches = false
        }
        guard matches else {
            throw SASLFailure(user: user, "Authentication failed: Invalid username or password")
        }
        return user
    }

    /// Marks `user` authenticated on `session`; returns the session's lifetime.
    private func accept(user: String, session: ConnectionSession) throws(SASLFailure) -> Int64 {
        let lifetime = settings.maxReauthenticationMilliseconds
        let renewed = try session.authenticated(user: user, expiresAt: lifetime > 0 ? clock.nowMilliseconds() + lifetime : nil)
        logger.debug(renewed ? "re-authenticated" : "authenticated", metadata: ["user": "\(user)", "listener": "\(session.listenerName)"])
        return lifetime
    }

    /// Creates the credentials of the bootstrap users that have none (both SCRAM mechanisms).
    func createBootstrapUsers() throws {
        let image = registry.image
        var changes: [(user: String, mechanism: SASLMechanism, credential: ScramCredential?)] = []
        for (user, password) in settings.bootstrapUsers where image.scramCredentials[user] == nil {
            for mechanism in [SASLMechanism.scramSHA256, .scramSHA512] {
                let credential = ScramCredential(
                    hash: mechanism.scram!, password: password, salt: random.bytes(count: 32), iterations: settings.scramIterations)
                changes.append((user, mechanism, credential))
            }
            logger.info("created user \(user)")
        }
        try registry.changeScramCredentials(changes)
    }
}
