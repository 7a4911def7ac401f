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

    package init(header: RequestHeader, connection: ConnectionContext) {
        self.header = header
        self.connection = connection
    }
}
