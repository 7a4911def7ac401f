import NIOConcurrencyHelpers
import SamsaProtocol

/// The security state of one connection: its listener, its principal and where its SASL
/// authentication stands. Requests of the connection read and change it one at a time (SASL
/// requests are never pipelined past each other), the frame decoder reads its frame limit.
public final class ConnectionSession: Sendable {
    /// The listener the connection came in on; Metadata advertises that listener's address.
    public let listenerName: String
    public let securityProtocol: SecurityProtocol
    /// The decoder's limit: `sasl.server.max.receive.size` until a SASL connection has
    /// authenticated, `socket.request.max.bytes` after.
    public let frameLimit: FrameSizeLimit
    private let maxFrameBytes: Int
    private let state: NIOLockedValueBox<State>

    /// Where authentication stands.
    enum Phase: Sendable {
        /// PLAINTEXT and SSL: nothing to authenticate.
        case open
        /// A SASL listener's connection before SaslHandshake.
        case awaitingHandshake
        /// After SaslHandshake: the mechanism's first token comes next, in SaslAuthenticate
        /// (handshake v1) or as a bare frame (v0).
        case awaitingToken(SASLMechanism, rawFrames: Bool)
        /// A SCRAM exchange between its two client messages.
        case scram(ScramServerExchange, rawFrames: Bool)
        /// Authenticated until `expiresAt` (milliseconds; nil for ever).
        case authenticated(expiresAt: Int64?)
        /// Authentication failed: the connection closes after the answer.
        case failed
    }

    private struct State: Sendable {
        var principal: KafkaPrincipal = .anonymous
        var phase: Phase
        /// Set once the first SASL authentication succeeded: a re-authentication keeps it.
        var authenticatedUser: String?
        /// The expiry of a session being re-authenticated, so requests are served meanwhile.
        var reauthenticatingUntil: Int64?
        /// A throttle to wait before the next request is read.
        var muteMilliseconds: Int64 = 0
    }

    public init(listenerName: String, securityProtocol: SecurityProtocol, maxFrameBytes: Int, maxFrameBytesBeforeAuthentication: Int) {
        self.listenerName = listenerName
        self.securityProtocol = securityProtocol
        self.maxFrameBytes = maxFrameBytes
        let phase: Phase = securityProtocol.usesSASL ? .awaitingHandshake : .open
        self.frameLimit = FrameSizeLimit(securityProtocol.usesSASL ? min(maxFrameBytesBeforeAuthentication, maxFrameBytes) : maxFrameBytes)
        self.state = NIOLockedValueBox(State(phase: phase))
    }

    /// A PLAINTEXT connection's session.
    public static func plaintext(maxFrameBytes: Int = 100 * 1024 * 1024) -> ConnectionSession {
        ConnectionSession(
            listenerName: SecurityProtocol.plaintext.rawValue, securityProtocol: .plaintext, maxFrameBytes: maxFrameBytes,
            maxFrameBytesBeforeAuthentication: maxFrameBytes)
    }

    /// Who the connection acts for: `User:ANONYMOUS` until it authenticates.
    public var principal: KafkaPrincipal { state.withLockedValue { $0.principal } }

    /// Sets the principal of a TLS client from its certificate.
    func authenticatedByCertificate(_ principal: KafkaPrincipal) {
        state.withLockedValue { $0.principal = principal }
    }

    var phase: Phase { state.withLockedValue { $0.phase } }

    /// The next frame is a bare SASL token (after SaslHandshake v0), not a Kafka request.
    var expectsRawToken: Bool {
        switch phase {
        case .awaitingToken(_, let raw), .scram(_, let raw): raw
        default: false
        }
    }

    /// Whether a request of `apiKey` may be served now, at `now` (milliseconds).
    ///
    /// Before authentication only ApiVersions, SaslHandshake and SaslAuthenticate are; after
    /// `connections.max.reauth.ms` the session has expired and nothing else is until the
    /// client re-authenticates (Kafka closes such a connection).
    func admits(_ apiKey: ApiKey, now: Int64) -> Bool {
        if apiKey == .apiVersions || apiKey == .saslHandshake || apiKey == .saslAuthenticate { return true }
        return state.withLockedValue { state in
            switch state.phase {
            case .open: return true
            case .authenticated(let expiresAt): return expiresAt.map { now < $0 } ?? true
            case .awaitingHandshake, .awaitingToken, .scram:
                return state.reauthenticatingUntil.map { now < $0 } ?? false
            case .failed: return false
            }
        }
    }

    /// SaslHandshake: starts an authentication with `mechanism`, or a re-authentication of an
    /// authenticated connection. False if a handshake is not expected now.
    func beginAuthentication(_ mechanism: SASLMechanism, rawFrames: Bool) -> Bool {
        state.withLockedValue { state in
            switch state.phase {
            case .awaitingHandshake:
                state.phase = .awaitingToken(mechanism, rawFrames: rawFrames)
                return true
            case .authenticated(let expiresAt):
                state.reauthenticatingUntil = expiresAt ?? .max
                state.phase = .awaitingToken(mechanism, rawFrames: rawFrames)
                return true
            default:
                return false
            }
        }
    }

    /// Moves the exchange on: `body` gets the phase and returns the next one.
    func advance<Result>(_ body: (Phase) throws(SASLFailure) -> (Phase, Result)) throws(SASLFailure) -> Result {
        let current = phase
        do {
            let (next, result) = try body(current)
            state.withLockedValue { $0.phase = next }
            return result
        } catch {
            failed()
            throw error
        }
    }

    /// Records a successful authentication of `user`, lasting until `expiresAt`; returns
    /// whether it renewed an earlier one. A re-authentication must name the same user.
    @discardableResult
    func authenticated(user: String, expiresAt: Int64?) throws(SASLFailure) -> Bool {
        var renewed = false
        let sameUser = state.withLockedValue { state in
            if let previous = state.authenticatedUser, previous != user { return false }
            renewed = state.authenticatedUser != nil
            state.authenticatedUser = user
            state.principal = KafkaPrincipal(name: user)
            state.phase = .authenticated(expiresAt: expiresAt)
            state.reauthenticatingUntil = nil
            return true
        }
        guard sameUser else {
            failed()
            throw SASLFailure(user: user, "Authentication failed: a re-authentication cannot change the user")
        }
        frameLimit.bytes = maxFrameBytes
        return renewed
    }

    /// Holds the connection's next request for `milliseconds` (a client over its quota).
    func mute(forMilliseconds milliseconds: Int64) {
        state.withLockedValue { $0.muteMilliseconds = max($0.muteMilliseconds, milliseconds) }
    }

    /// How long to hold the next request, once; 0 for not at all.
    func takeMute() -> Int64 {
        state.withLockedValue { state in
            defer { state.muteMilliseconds = 0 }
            return state.muteMilliseconds
        }
    }

    /// Marks the authentication failed: every later request closes the connection.
    func failed() {
        state.withLockedValue { $0.phase = .failed }
    }
}
