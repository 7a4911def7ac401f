import NIOCore

/// What the server knows about the connection a request arrived on.
public struct ConnectionContext: Sendable {
    /// A number unique to this connection within the server's life, for logs.
    public let connectionID: UInt64
    /// The peer's address, if known.
    public let remoteAddress: SocketAddress?
    /// The allocator of the connection's channel, for building responses.
    public let allocator: ByteBufferAllocator
    /// Lets the connection start its next request before this one is answered (see
    /// ``RequestOrdering``); nil where requests are not pipelined.
    public var ordering: RequestOrdering?
    /// The connection's listener, principal and authentication.
    public let session: ConnectionSession

    public init(
        connectionID: UInt64, remoteAddress: SocketAddress?, allocator: ByteBufferAllocator, ordering: RequestOrdering? = nil,
        session: ConnectionSession = .plaintext()
    ) {
        self.connectionID = connectionID
        self.remoteAddress = remoteAddress
        self.allocator = allocator
        self.ordering = ordering
        self.session = session
    }
}

extension ConnectionContext {
    /// The peer's address for logs, "-" if unknown.
    var peerDescription: String { remoteAddress.map { "\($0)" } ?? "-" }
    /// The peer's IP address, as ACL hosts name it.
    var peerHost: String { remoteAddress?.ipAddress ?? "" }
}

/// Turns one request frame into its response.
///
/// The server starts `process` for a connection's frames one at a time, in arrival order: the
/// next starts once the previous returned, or earlier if it called
/// ``RequestOrdering/allowNext()`` on ``ConnectionContext/ordering``. Responses are written in
/// request order, as Kafka clients require.
public protocol RequestProcessor: Sendable {
    /// Handles one request frame (header and body, without the size prefix).
    ///
    /// - Returns: the response, or nil when the request gets none (produce with acks=0).
    /// - Throws: `RequestRejection` to close the connection, as Kafka does for a request it
    ///   cannot parse, an unknown API key or an unsupported version.
    func process(_ frame: ByteBuffer, connection: ConnectionContext) async throws(RequestRejection) -> ResponseFrame?

    /// True when processing `frame` may call ``RequestOrdering/allowNext()``: the server then
    /// runs it beside the connection's reading loop, which waits only until it allows the next.
    /// Every other request runs in the reading loop itself, which saves a task and its wake-ups.
    func mayAllowNext(_ frame: ByteBuffer) -> Bool

    /// Where a request of ``mayAllowNext(_:)`` runs; nil keeps it on the connection's event
    /// loop, where the reading loop runs.
    func pipelinedRequestExecutor(for frame: ByteBuffer) -> (any TaskExecutor)?
}

extension RequestProcessor {
    /// Requests are never pipelined unless the processor says so.
    public func mayAllowNext(_ frame: ByteBuffer) -> Bool { false }

    public func pipelinedRequestExecutor(for frame: ByteBuffer) -> (any TaskExecutor)? { nil }
}

/// A request that closes its connection instead of getting a response; the reason is logged.
public struct RequestRejection: Error, CustomStringConvertible, Sendable {
    public let reason: String

    public init(_ reason: String) {
        self.reason = reason
    }

    public var description: String { reason }
}
