import NIOConcurrencyHelpers
import NIOCore
import SamsaBroker
import SamsaProtocol

/// A request that reached an interceptor of a ``SamsaTestCluster``.
public struct InterceptedRequest: Sendable {
    /// The request header: API key, version, correlation id, client id.
    public let header: RequestHeader
    /// The decoded request body; cast it to the request type of ``RequestHeader/apiKey``.
    public let body: any KafkaRequestMessage
    /// The connection the request arrived on (unique within the cluster's life).
    public let connectionID: UInt64
}

/// What an interceptor does with a request.
public enum InterceptionAction: Sendable {
    /// Let the broker answer (or the next interceptor decide).
    case pass
    /// Answer with `ErrorCode` for everything the request names, without the broker seeing it.
    case fail(ErrorCode)
    /// Answer with this response body, without the broker seeing the request.
    case respond(any KafkaResponseMessage)
    /// Close the connection without answering, as a broker that went away would.
    case dropConnection
}

/// A registered interceptor: how many requests it handled, and a way to remove it.
public final class Interception: Sendable {
    let apiKey: ApiKey
    let handler: @Sendable (InterceptedRequest) async -> InterceptionAction
    private let state: NIOLockedValueBox<(remaining: Int?, seen: Int)>

    init(apiKey: ApiKey, times: Int?, handler: @escaping @Sendable (InterceptedRequest) async -> InterceptionAction) {
        self.apiKey = apiKey
        self.handler = handler
        state = NIOLockedValueBox((times, 0))
    }

    /// How many requests this interceptor was given.
    public var requestCount: Int { state.withLockedValue { $0.seen } }

    /// True while the interceptor still takes requests.
    public var isActive: Bool { state.withLockedValue { $0.remaining.map { $0 > 0 } ?? true } }

    /// Removes the interceptor: later requests no longer reach it.
    public func cancel() {
        state.withLockedValue { $0.remaining = 0 }
    }

    /// Claims one request if the interceptor is still active.
    func claim() -> Bool {
        state.withLockedValue { state in
            if let remaining = state.remaining {
                guard remaining > 0 else { return false }
                state.remaining = remaining - 1
            }
            state.seen += 1
            return true
        }
    }
}

/// The cluster's request processor: decodes each request's header and body, gives it to the
/// interceptors registered for its API key in registration order, and passes it to the
/// broker unless one of them answers it.
final class InterceptingProcessor: RequestProcessor {
    private let broker: Broker
    private let interceptions = NIOLockedValueBox<[Interception]>([])

    init(broker: Broker) {
        self.broker = broker
    }

    func add(_ interception: Interception) {
        interceptions.withLockedValue { $0.append(interception) }
    }

    func mayAllowNext(_ frame: ByteBuffer) -> Bool { broker.mayAllowNext(frame) }

    func pipelinedRequestExecutor(for frame: ByteBuffer) -> (any TaskExecutor)? { broker.pipelinedRequestExecutor(for: frame) }

    func process(_ frame: ByteBuffer, connection: ConnectionContext) async throws(RequestRejection) -> ResponseFrame? {
        let candidates = interceptions.withLockedValue { list in
            list.removeAll { !$0.isActive }
            return list
        }
        guard !candidates.isEmpty, let apiKey = Self.apiKey(of: frame), candidates.contains(where: { $0.apiKey == apiKey }) else {
            return try await broker.process(frame, connection: connection)
        }
        var copy = frame
        guard let request = try? KafkaRequest.decode(from: &copy) else {
            // Let the broker answer or reject a request it cannot parse, as it would anyway.
            return try await broker.process(frame, connection: connection)
        }
        let intercepted = InterceptedRequest(header: request.header, body: request.body, connectionID: connection.connectionID)
        for interception in candidates where interception.apiKey == apiKey {
            guard interception.claim() else { continue }
            switch await interception.handler(intercepted) {
            case .pass:
                continue
            case .fail(let error):
                if let produce = request.body as? ProduceRequest, produce.acks == 0 { return nil }  // acks=0 gets no answer
                guard let response = ErrorResponses.response(to: request.body, error: error) else {
                    throw RequestRejection("SamsaTestCluster cannot build an error response for \(apiKey)")
                }
                return Self.frame(response, for: request.header, allocator: connection.allocator)
            case .respond(let response):
                return Self.frame(response, for: request.header, allocator: connection.allocator)
            case .dropConnection:
                throw RequestRejection("connection dropped by an interceptor of \(apiKey)")
            }
        }
        return try await broker.process(frame, connection: connection)
    }

    private static func apiKey(of frame: ByteBuffer) -> ApiKey? {
        frame.getInteger(at: frame.readerIndex, endianness: .big, as: Int16.self).map { ApiKey(rawValue: $0) }
    }

    private static func frame(
        _ response: any KafkaResponseMessage, for header: RequestHeader, allocator: ByteBufferAllocator
    ) -> ResponseFrame {
        var buffer = allocator.buffer(capacity: 256)
        KafkaResponse.encode(response, version: header.apiVersion, correlationId: header.correlationId, into: &buffer)
        return ResponseFrame(body: buffer)
    }
}
