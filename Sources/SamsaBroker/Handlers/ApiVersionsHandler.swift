import NIOCore
import SamsaProtocol

/// ApiVersions (key 18), versions 0-4.
///
/// Lists exactly the APIs this broker has handlers for, with the versions each answers.
/// The response always travels with header v0 (KIP-511), which ``KafkaResponse`` takes care of.
/// An ApiVersions request at a version above 4 never reaches this handler: the broker answers
/// it with a v0 body and UNSUPPORTED_VERSION (see ``unsupportedVersionResponse(context:)``).
/// No features are advertised, so clients do not switch on transactions V2 (KIP-890).
struct ApiVersionsHandler: RequestHandler {
    typealias Request = ApiVersionsRequest

    let apiKeys: [ApiVersionsResponse.ApiVersion]

    init(advertised: [(apiKey: ApiKey, versions: ClosedRange<Int16>)]) {
        var keys = [ApiVersionsResponse.ApiVersion]()
        for entry in advertised {
            var key = ApiVersionsResponse.ApiVersion()
            key.apiKey = entry.apiKey.rawValue
            key.minVersion = entry.versions.lowerBound
            key.maxVersion = entry.versions.upperBound
            keys.append(key)
        }
        apiKeys = keys.sorted { $0.apiKey < $1.apiKey }
    }

    func handle(_ request: ApiVersionsRequest, context: RequestContext) async throws -> ApiVersionsResponse? {
        var response = ApiVersionsResponse()
        response.errorCode = ErrorCode.noError.rawValue
        response.apiKeys = apiKeys
        return response
    }

    /// The answer to an ApiVersions request at a version this broker does not know: a v0 body
    /// with UNSUPPORTED_VERSION and our ApiVersions range, so the client can retry lower.
    static func unsupportedVersionResponse(correlationId: Int32, context: ConnectionContext) -> ResponseFrame {
        var response = ApiVersionsResponse()
        response.errorCode = ErrorCode.unsupportedVersion.rawValue
        var key = ApiVersionsResponse.ApiVersion()
        key.apiKey = ApiKey.apiVersions.rawValue
        key.minVersion = ApiVersionsRequest.advertisedVersions.lowerBound
        key.maxVersion = ApiVersionsRequest.advertisedVersions.upperBound
        response.apiKeys = [key]
        var buffer = context.allocator.buffer(capacity: 32)
        KafkaResponse.encode(response, version: 0, correlationId: correlationId, into: &buffer)
        return ResponseFrame(body: buffer)
    }
}
