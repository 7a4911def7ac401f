import NIOCore

/// What the server knows about the connection a request arrived on.
public struct ConnectionContext: Sendable {
    /// A number unique to this connection within the server's life, for logs.
    public let connectionID: UInt64
    /// The peer's address, if known.
    public let remoteAddress: SocketAddress?
    /// The allocator of the connection's channel, for building responses.
    public let allocator: ByteBufferAllocator
}

/// Turns one request frame into its response.
///
/// The server calls `process` for one frame of a connection at a time, in arrival order, and
/// writes each response before reading the next request, so responses keep request order as
/// Kafka clients require.
public protocol RequestProcessor: Sendable {
    /// Handles one request frame (header and body, without the size prefix).
    ///
    /// - Returns: the response, or nil when the request gets none (produce with acks=0).
    /// - Throws: `RequestRejection` to close the connection, as Kafka does for a request it
    ///   cannot parse, an unknown API key or an unsupported version.
    func process(_ frame: ByteBuffer, connection: ConnectionContext) async throws(RequestRejection) -> ResponseFrame?
}

/// A request that closes its connection instead of getting a response; the reason is logged.
public struct RequestRejection: Error, CustomStringConvertible, Sendable {
    public let reason: String

    public init(_ reason: String) {
        self.reason = reason
    }

    public var description: String { reason }
}
