import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import NIOSSL
import SamsaProtocol
import SamsaSCRAM

/// One TCP connection to one broker. Requests are pipelined: any number may be in flight, and
/// each `send` waits only for its own answer. The connection learns the broker's API versions
/// when it opens (ApiVersions, falling back to v0 for brokers that do not know the version
/// asked) and sends every request at the highest version both sides speak.
final class BrokerConnection: Sendable {
    /// The broker's node id (-1 for a bootstrap connection).
    let nodeId: Int32
    let address: BrokerAddress
    let versions: ApiVersionTable
    /// The features the broker reported in ApiVersions (v3 and later; empty before).
    let features: BrokerFeatures
    private let channel: any Channel
    private let clientId: String
    private let requestTimeout: TimeAmount
    private let nextCorrelationId = NIOLockedValueBox<Int32>(1)
    /// The task that re-authenticates before the broker's session ends (KIP-368), if any.
    private let reauthentication = NIOLockedValueBox<Task<Void, Never>?>(nil)

    private init(
        nodeId: Int32, address: BrokerAddress, channel: any Channel, versions: ApiVersionTable, features: BrokerFeatures = BrokerFeatures(),
        clientId: String, requestTimeout: TimeAmount
    ) {
        self.nodeId = nodeId
        self.address = address
        self.channel = channel
        self.versions = versions
        self.features = features
        self.clientId = clientId
        self.requestTimeout = requestTimeout
    }

    /// Connects to `address` (over TLS if `security` says so), negotiates API versions and
    /// authenticates with SASL if `security` says so.
    static func connect(
        nodeId: Int32, address: BrokerAddress, clientId: String, connectTimeout: TimeAmount, requestTimeout: TimeAmount,
        maxResponseBytes: Int, security: ClientSecurity = ClientSecurity(),
        group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton
    ) async throws -> BrokerConnection {
        let name = address.description
        let tls = try security.makeTLSContext()
        // SNI takes a host name; for an IP address the certificate is checked against the address.
        let isAddress = (try? SocketAddress(ipAddress: address.host, port: 0)) != nil
        let channel = try await ClientBootstrap(group: group)
            .connectTimeout(connectTimeout)
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    if let tls {
                        try channel.pipeline.syncOperations.addHandler(
                            try NIOSSLClientHandler(context: tls, serverHostname: isAddress ? nil : address.host))
                    }
                    try channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(KafkaFrameDecoder(maxFrameBytes: maxResponseBytes)))
                    try channel.pipeline.syncOperations.addHandler(ResponseDispatcher(broker: name))
                }
            }
            .connect(host: address.host, port: address.port)
            .get()
        let bootstrap = BrokerConnection(
            nodeId: nodeId, address: address, channel: channel, versions: ApiVersionTable([]), clientId: clientId,
            requestTimeout: requestTimeout)
        do {
            let answer = try await bootstrap.negotiate()
            let connection = BrokerConnection(
                nodeId: nodeId, address: address, channel: channel, versions: ApiVersionTable(answer.apiKeys),
                features: BrokerFeatures(answer), clientId: clientId, requestTimeout: requestTimeout)
            if security.securityProtocol.usesSASL {
                let lifetime = try await connection.authenticate(security)
                connection.scheduleReauthentication(security, sessionLifetimeMs: lifetime)
            }
            return connection
        } catch {
            try? await channel.close()
            throw error
        }
    }

    /// ApiVersions at the newest version this client speaks; a broker that does not know it
    /// answers UNSUPPORTED_VERSION with a v0 body (KIP-511), and the client asks again at v0.
    private func negotiate() async throws -> ApiVersionsResponse {
        var request = ApiVersionsRequest()
        request.clientSoftwareName = "samsa-swift"
        request.clientSoftwareVersion = SamsaClientVersion.current
        let newest = ApiVersionsRequest.supportedVersions.upperBound
        do {
            let response = try await send(request, version: newest)
            if response.errorCode == ErrorCode.noError.rawValue { return response }
        } catch SamsaClientError.malformedResponse {
            // A v0 body with UNSUPPORTED_VERSION does not parse as the newer version.
        }
        let fallback = try await send(request, version: 0)
        guard fallback.errorCode == ErrorCode.noError.rawValue else {
            throw KafkaError(ErrorCode(rawValue: fallback.errorCode), message: "ApiVersions failed")
        }
        return fallback
    }

    /// SaslHandshake, then the mechanism's tokens in SaslAuthenticate (KIP-152). A refusal is a
    /// ``KafkaError`` with Kafka's code (SASL_AUTHENTICATION_FAILED, UNSUPPORTED_SASL_MECHANISM).
    /// Returns the session's lifetime in ms from the broker's last answer (0: it does not end).
    private func authenticate(_ security: ClientSecurity) async throws -> Int64 {
        var handshake = SaslHandshakeRequest()
        handshake.mechanism = security.saslMechanism.rawValue
        let shaken = try await send(handshake, version: 1, isAuthentication: true)
        guard shaken.errorCode == ErrorCode.noError.rawValue else {
            throw KafkaError(
                ErrorCode(rawValue: shaken.errorCode),
                message: "\(address) does not offer \(handshake.mechanism) (it offers \(shaken.mechanisms.joined(separator: ", ")))")
        }
        let user = security.username ?? ""
        let password = security.password ?? ""
        guard let hash = security.saslMechanism.scram else {
            return try await exchange([0] + Array(user.utf8) + [0] + Array(password.utf8)).sessionLifetimeMs
        }
        let nonce = (0..<24).map { _ in "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789".randomElement()! }
        var scram = ScramClientExchange(hash: hash, user: user, password: password, nonce: String(nonce))
        let serverFirst = try await exchange(scram.clientFirst).token
        let final = try await exchange(try scram.clientFinal(serverFirst: serverFirst))
        try scram.verify(serverFinal: final.token)
        return final.sessionLifetimeMs
    }

    /// One SASL token out, the broker's token back, with the session lifetime it announced
    /// (SaslAuthenticate v1 and later; 0 before).
    private func exchange(_ token: [UInt8]) async throws -> (token: [UInt8], sessionLifetimeMs: Int64) {
        var request = SaslAuthenticateRequest()
        request.authBytes = ByteBuffer(bytes: token)
        let answer = try await write(request, isAuthentication: true).response()
        guard answer.errorCode == ErrorCode.noError.rawValue else {
            throw KafkaError(ErrorCode(rawValue: answer.errorCode), message: answer.errorMessage ?? "SASL authentication failed")
        }
        return (Array(answer.authBytes.readableBytesView), answer.sessionLifetimeMs)
    }

    /// When a session of `sessionLifetimeMs` should be renewed: at a random point between 85 %
    /// and 95 % of it, as Kafka's clients do (KIP-368), so that many connections opened
    /// together do not all renew at once.
    static func reauthenticationDelay(sessionLifetimeMs: Int64) -> Duration {
        .milliseconds(Int64(Double(sessionLifetimeMs) * Double.random(in: 0.85...0.95)))
    }

    /// Re-authenticates on this connection before the broker's session ends (KIP-368), and
    /// again before each renewed session ends. Requests sent meanwhile are held and go out
    /// once it is done; if it fails, the connection closes and the next request reconnects.
    private func scheduleReauthentication(_ security: ClientSecurity, sessionLifetimeMs: Int64) {
        guard sessionLifetimeMs > 0 else { return }
        let delay = Self.reauthenticationDelay(sessionLifetimeMs: sessionLifetimeMs)
        let task = Task { [weak self] in
            do {
                try await Task.sleep(for: delay)
            } catch {
                return
            }
            guard let self, self.isActive else { return }
            do {
                try await self.reauthenticate(security)
            } catch {
                try? await self.channel.close()
            }
        }
        reauthentication.withLockedValue { $0 = task }
        // A closed connection has nothing to renew: the sleep ends now instead of in an hour.
        channel.closeFuture.whenComplete { _ in task.cancel() }
    }

    /// Holds new requests, waits for those in flight, authenticates again and releases the held
    /// requests; then schedules the next renewal.
    private func reauthenticate(_ security: ClientSecurity) async throws {
        let drained = channel.eventLoop.makePromise(of: Void.self)
        channel.triggerUserOutboundEvent(ReauthenticationEvent.hold(drained: drained), promise: nil)
        defer { channel.triggerUserOutboundEvent(ReauthenticationEvent.release, promise: nil) }
        try await drained.futureResult.get()
        let lifetime = try await authenticate(security)
        scheduleReauthentication(security, sessionLifetimeMs: lifetime)
    }

    /// Whether the connection is still open.
    var isActive: Bool { channel.isActive }

    /// Sends `request` at the negotiated version (at most `maxVersion`, for requests whose
    /// newer versions need what the caller does not fill in, such as topic ids) and waits for
    /// the answer.
    func send<Request: KafkaRequestMessage>(
        _ request: Request, maxVersion: Int16? = nil, timeout: TimeAmount? = nil
    ) async throws -> Request.Response {
        try await write(request, maxVersion: maxVersion, timeout: timeout).response()
    }

    /// Sends `request` at `version` and waits for the answer.
    func send<Request: KafkaRequestMessage>(
        _ request: Request, version: Int16, timeout: TimeAmount? = nil, isAuthentication: Bool = false
    ) async throws -> Request.Response {
        try await write(request, version: version, timeout: timeout, isAuthentication: isAuthentication).response()
    }

    /// Writes `request` now, without waiting: requests written one after the other reach the
    /// broker in that order (the producer relies on it to pipeline a partition's batches).
    func write<Request: KafkaRequestMessage>(
        _ request: Request, maxVersion: Int16? = nil, timeout: TimeAmount? = nil, isAuthentication: Bool = false
    ) throws -> PendingResponse<Request.Response> {
        guard var version = versions.version(for: Request.self) else {
            throw SamsaClientError.unsupportedVersion(api: Request.apiKey, broker: address.description)
        }
        if let maxVersion {
            guard let served = versions.served(Request.apiKey), served.lowerBound <= maxVersion else {
                throw SamsaClientError.unsupportedVersion(api: Request.apiKey, broker: address.description)
            }
            version = min(version, maxVersion)
        }
        return write(request, version: version, timeout: timeout, isAuthentication: isAuthentication)
    }

    /// Writes `request` at `version` now, without waiting.
    func write<Request: KafkaRequestMessage>(
        _ request: Request, version: Int16, timeout: TimeAmount? = nil, isAuthentication: Bool = false
    ) -> PendingResponse<Request.Response> {
        let (correlationId, frame) = encode(request, version: version)
        let promise = channel.eventLoop.makePromise(of: ByteBuffer.self)
        let outbound = OutboundRequest(
            frame: frame, correlationId: correlationId, response: promise, timeout: timeout ?? requestTimeout,
            isAuthentication: isAuthentication)
        // A write to a channel that closed meanwhile never reaches the dispatcher: the answer
        // fails with the write.
        let written = channel.eventLoop.makePromise(of: Void.self)
        written.futureResult.whenFailure { promise.fail($0) }
        channel.writeAndFlush(outbound, promise: written)
        return PendingResponse(frame: promise.futureResult, version: version, api: Request.apiKey, broker: address.description)
    }

    /// Writes a request the broker does not answer (Produce with acks=0); the future
    /// completes once it is written.
    func writeWithoutResponse<Request: KafkaRequestMessage>(_ request: Request) throws -> EventLoopFuture<Void> {
        guard let version = versions.version(for: Request.self) else {
            throw SamsaClientError.unsupportedVersion(api: Request.apiKey, broker: address.description)
        }
        let (correlationId, frame) = encode(request, version: version)
        let written = channel.eventLoop.makePromise(of: Void.self)
        channel.writeAndFlush(
            OutboundRequest(frame: frame, correlationId: correlationId, response: nil, timeout: requestTimeout), promise: written)
        return written.futureResult
    }

    /// The request's frame (size, header, body) with the next correlation id.
    private func encode<Request: KafkaRequestMessage>(_ request: Request, version: Int16) -> (Int32, ByteBuffer) {
        let correlationId = nextCorrelationId.withLockedValue { id in
            defer { id = id == Int32.max ? 1 : id + 1 }
            return id
        }
        var frame = channel.allocator.buffer(capacity: 256)
        frame.writeInteger(Int32(0))
        KafkaRequest.encode(request, version: version, correlationId: correlationId, clientId: clientId, into: &frame)
        frame.setInteger(Int32(frame.readableBytes - 4), at: frame.readerIndex)
        return (correlationId, frame)
    }

    /// Closes the connection; requests in flight fail.
    func close() async {
        reauthentication.withLockedValue { $0?.cancel() }
        try? await channel.close()
    }
}

/// The answer to a request already written: its frame, decoded when asked for.
struct PendingResponse<Response: KafkaResponseMessage>: Sendable {
    let frame: EventLoopFuture<ByteBuffer>
    let version: Int16
    let api: ApiKey
    let broker: String

    /// Waits for the answer.
    func response() async throws -> Response {
        try decode(try await frame.get())
    }

    /// Calls `body` with the answer (or the failure) on the connection's event loop, without
    /// a task hop.
    func whenComplete(_ body: @escaping @Sendable (Result<Response, any Error>) -> Void) {
        frame.whenComplete { result in
            body(result.flatMap { frame in Result { try decode(frame) } })
        }
    }

    private func decode(_ frame: ByteBuffer) throws -> Response {
        var answer = frame
        do {
            let (_, body) = try KafkaResponse.decode(Response.self, version: version, from: &answer)
            return body
        } catch {
            throw SamsaClientError.malformedResponse(api: api, broker: broker, reason: "\(error)")
        }
    }
}

/// The version this client reports in ApiVersions.
enum SamsaClientVersion {
    static let current = "0.1.0"
}
