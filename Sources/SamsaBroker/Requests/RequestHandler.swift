import NIOCore
import SamsaProtocol

/// Answers one Kafka API. There is one handler type per API, in `Handlers/`, named after it.
///
/// A handler turns a decoded request into a response value; Kafka outcomes (unknown topic,
/// bad sequence number...) are `ErrorCode`s inside the response, never thrown. A thrown error
/// means the broker could not answer at all: it is logged and the connection is closed.
package protocol RequestHandler: Sendable {
    associatedtype Request: KafkaRequestMessage

    /// The versions this handler answers, which the broker advertises in ApiVersions.
    /// Defaults to the spec's advertised range.
    var versions: ClosedRange<Int16> { get }

    /// Answers `request`; nil sends no response at all (produce with acks=0).
    func handle(_ request: Request, context: RequestContext) async throws -> Request.Response?

    /// Encodes the answer into a frame. The default encodes `handle`'s response in one buffer;
    /// fetch overrides it to send file regions without copying.
    func respond(to request: Request, context: RequestContext) async throws -> ResponseFrame?
}

extension RequestHandler {
    package var versions: ClosedRange<Int16> { Request.advertisedVersions }

    package func respond(to request: Request, context: RequestContext) async throws -> ResponseFrame? {
        guard let response = try await handle(request, context: context) else { return nil }
        return ResponseFrame.encoding(response, context: context)
    }
}

extension ResponseFrame {
    /// A frame holding `response` with the header its version calls for.
    package static func encoding<Response: KafkaResponseMessage>(_ response: Response, context: RequestContext) -> ResponseFrame {
        var buffer = context.allocator.buffer(capacity: 512)
        KafkaResponse.encode(response, version: context.apiVersion, correlationId: context.correlationId, into: &buffer)
        return ResponseFrame(body: buffer)
    }
}
