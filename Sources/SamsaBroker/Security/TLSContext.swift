import NIOCore
import NIOSSL
import NIOTLS
import SwiftASN1
import X509

extension TLSSettings {
    /// The server context of SSL (`forSASL` false) or SASL_SSL listeners. Fails with a
    /// readable error for a missing or unreadable certificate or key, so a listener never
    /// starts without TLS.
    ///
    /// `ssl.client.auth` applies to SSL listeners only: SASL_SSL clients authenticate with SASL,
    /// as in Kafka (KIP-684).
    func makeServerContext(forSASL: Bool) throws(ConfigurationError) -> NIOSSLContext {
        let clientAuthentication = forSASL ? .none : self.clientAuthentication
        guard let chainPath = certificateChainPath else {
            throw ConfigurationError("ssl.keystore.location is not set")
        }
        do {
            let chain = try NIOSSLCertificate.fromPEMFile(chainPath)
            guard !chain.isEmpty else { throw ConfigurationError("ssl.keystore.location: \(chainPath) holds no certificate") }
            let keyPath = privateKeyPath ?? chainPath
            let key: NIOSSLPrivateKey
            if let password = privateKeyPassword {
                key = try NIOSSLPrivateKey(file: keyPath, format: .pem) { setPassphrase in
                    setPassphrase(Array(password.utf8))
                }
            } else {
                key = try NIOSSLPrivateKey(file: keyPath, format: .pem)
            }
            var configuration = TLSConfiguration.makeServerConfiguration(
                certificateChain: chain.map { .certificate($0) }, privateKey: .privateKey(key))
            if let unknown = enabledProtocols.first(where: { $0 != "TLSv1.2" && $0 != "TLSv1.3" }) {
                throw ConfigurationError("ssl.enabled.protocols: \(unknown) is not supported (TLSv1.2, TLSv1.3)")
            }
            guard !enabledProtocols.isEmpty else { throw ConfigurationError("ssl.enabled.protocols is empty") }
            // A closing connection does not wait long for the peer's close_notify, which clients
            // rarely send: Kafka does not wait at all.
            configuration.shutdownTimeout = .milliseconds(250)
            configuration.minimumTLSVersion = enabledProtocols.contains("TLSv1.2") ? .tlsv12 : .tlsv13
            configuration.maximumTLSVersion = enabledProtocols.contains("TLSv1.3") ? .tlsv13 : .tlsv12
            switch clientAuthentication {
            case .none:
                configuration.certificateVerification = .none
            case .requested:
                configuration.certificateVerification = .optionalVerification
            case .required:
                configuration.certificateVerification = .noHostnameVerification
            }
            if clientAuthentication != .none {
                guard let trustPath = trustedCertificatesPath else {
                    throw ConfigurationError(
                        "ssl.client.auth=\(clientAuthentication.rawValue) needs ssl.truststore.location (the CAs of client certificates)")
                }
                configuration.trustRoots = .certificates(try NIOSSLCertificate.fromPEMFile(trustPath))
            }
            return try NIOSSLContext(configuration: configuration)
        } catch let error as ConfigurationError {
            throw error
        } catch {
            throw ConfigurationError("cannot load the TLS certificate or key (\(chainPath)): \(error)")
        }
    }
}

/// Sets a TLS connection's principal from the client's certificate, once the handshake is
/// done and before any request is read: `User:` and the subject's distinguished name
/// (`User:CN=alice,O=Example`), as Kafka's default `ssl.principal.mapping.rules`.
final class TLSPrincipalHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = NIOAny

    private let session: ConnectionSession

    init(session: ConnectionSession) {
        self.session = session
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if case TLSUserEvent.handshakeCompleted = event,
            let handler = try? context.pipeline.syncOperations.handler(type: NIOSSLServerHandler.self),
            let certificate = handler.peerCertificate,
            let subject = Self.subject(of: certificate)
        {
            session.authenticatedByCertificate(KafkaPrincipal(name: subject))
        }
        context.fireUserInboundEventTriggered(event)
    }

    /// The certificate's subject as RFC 4514 text, nil if it cannot be parsed.
    static func subject(of certificate: NIOSSLCertificate) -> String? {
        guard let der = try? certificate.toDERBytes(), let parsed = try? Certificate(derEncoded: der) else { return nil }
        let text = parsed.subject.description
        return text.isEmpty ? nil : text
    }
}

/// Ends a TLS connection's input without touching the socket, for a graceful shutdown: TLS
/// cannot close only the reading side, so `close(mode: .input)` stops here, later bytes are
/// dropped and the handlers behind it see the input end; the answers in progress still go out.
final class TLSInputCloser: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = NIOAny
    typealias OutboundIn = NIOAny

    private var inputClosed = false

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !inputClosed else { return }
        context.fireChannelRead(data)
    }

    func close(context: ChannelHandlerContext, mode: CloseMode, promise: EventLoopPromise<Void>?) {
        guard mode == .input else {
            context.close(mode: mode, promise: promise)
            return
        }
        promise?.succeed()
        guard !inputClosed else { return }
        inputClosed = true
        context.fireUserInboundEventTriggered(ChannelEvent.inputClosed)
    }
}
