import NIOCore
import SamsaProtocol

/// What a handler knows about the request it is answering.
package struct RequestContext: Sendable {
    /// The decoded request header (api key, version, correlation id, client id).
    package let header: RequestHeader
    /// The connection the request arrived on.
    package let connection: ConnectionContext

    /// The version of the request, which is also the version of its response.
    package var apiVersion: Int16 { header.apiVersion }
    /// The correlation id to echo in the response header.
    package var correlationId: Int32 { header.correlationId }
    /// The client id, or "" when the client sent none.
    package var clientId: String { header.clientId ?? "" }
    /// The allocator for response buffers.
    package var allocator: ByteBufferAllocator { connection.allocator }

    /// The ACL checks; nil allows everything (handlers tested without a broker).
    package let authorizer: Authorizer?

    package init(header: RequestHeader, connection: ConnectionContext, authorizer: Authorizer? = nil) {
        self.header = header
        self.connection = connection
        self.authorizer = authorizer
    }

    /// Whether the connection's principal may do `operation` on the resource of `type` called
    /// `name` (the cluster when no name is given).
    package func allows(_ operation: AclOperation, _ type: AclResourceType, _ name: String = "kafka-cluster") -> Bool {
        guard let authorizer, authorizer.isEnabled else { return true }
        return authorizer.authorizes(connection.session.principal, host: connection.peerHost, operation, type, name)
    }

    /// Records `bytes` against the client's quota; returns the throttle time to answer with
    /// (milliseconds) and mutes the connection for it, as Kafka does since KIP-219: the answer
    /// goes out at once, the next request is read after the throttle time.
    package func throttle(_ kind: QuotaManager.Kind, bytes: Int, quotas: QuotaManager, now: Int64) -> Int32 {
        let milliseconds = quotas.record(kind, bytes: bytes, user: connection.session.principal.name, clientId: clientId, now: now)
        guard milliseconds > 0 else { return 0 }
        connection.session.mute(forMilliseconds: milliseconds)
        return Int32(clamping: milliseconds)
    }

    /// Whether the connection's principal may do `operation` on some resource of `type`.
    package func allowsOnSome(_ operation: AclOperation, _ type: AclResourceType) -> Bool {
        guard let authorizer, authorizer.isEnabled else { return true }
        return authorizer.authorizesSome(connection.session.principal, host: connection.peerHost, operation, type)
    }
}
