import NIOCore
import SamsaProtocol

/// What a handler knows about the request it is answering.
public struct RequestContext: Sendable {
    /// The decoded request header (api key, version, correlation id, client id).
    public let header: RequestHeader
    /// The connection the request arrived on.
    public let connection: ConnectionContext

    /// The version of the request, which is also the version of its response.
    public var apiVersion: Int16 { header.apiVersion }
    /// The correlation id to echo in the response header.
    public var correlationId: Int32 { header.correlationId }
    /// The client id, or "" when the client sent none.
    public var clientId: String { header.clientId ?? "" }
    /// The allocator for response buffers.
    public var allocator: ByteBufferAllocator { connection.allocator }

    public init(header: RequestHeader, connection: ConnectionContext) {
        self.header = header
        self.connection = connection
    }
}
