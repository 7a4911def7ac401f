import NIOCore
import SamsaProtocol

/// SaslHandshake (v0–1): picks the mechanism of a SASL connection's authentication. After
/// v0 the client sends bare SASL tokens; after v1 it sends them in SaslAuthenticate.
struct SaslHandshakeHandler: RequestHandler {
    let authenticator: Authenticator

    func handle(_ request: SaslHandshakeRequest, context: RequestContext) async throws -> SaslHandshakeResponse? {
        let response = authenticator.handshake(
            request, version: context.apiVersion, session: context.connection.session, peer: context.connection.peerDescription)
        return response
    }

    func respond(to request: SaslHandshakeRequest, context: RequestContext) async throws -> ResponseFrame? {
        guard let response = try await handle(request, context: context) else { return nil }
        // Kafka closes the connection after a refused handshake.
        return ResponseFrame.encoding(response, context: context).closing(if: response.errorCode != 0)
    }
}

/// SaslAuthenticate (v0–2): carries the SASL tokens of an authentication (KIP-152). A failed
/// authentication is answered with SASL_AUTHENTICATION_FAILED, then the connection closes.
struct SaslAuthenticateHandler: RequestHandler {
    let authenticator: Authenticator

    func handle(_ request: SaslAuthenticateRequest, context: RequestContext) async throws -> SaslAuthenticateResponse? {
        var response = SaslAuthenticateResponse()
        do throws(SASLFailure) {
            let answer = try await authenticator.authenticate(
                token: request.authBytes, session: context.connection.session, peer: context.connection.peerDescription)
            response.errorMessage = nil
            response.authBytes = ByteBuffer(bytes: answer.bytes)
            response.sessionLifetimeMs = answer.sessionLifetimeMilliseconds
        } catch {
            response.errorCode = ErrorCode.saslAuthenticationFailed.rawValue
            response.errorMessage = error.message
        }
        return response
    }

    func respond(to request: SaslAuthenticateRequest, context: RequestContext) async throws -> ResponseFrame? {
        guard let response = try await handle(request, context: context) else { return nil }
        return ResponseFrame.encoding(response, context: context).closing(if: response.errorCode != 0)
    }
}
