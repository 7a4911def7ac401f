import NIOCore
import SamsaProtocol

/// ApiVersions (key 18), versions 0-4.
///
/// Lists exactly the APIs this broker has handlers for, with the versions each answers.
/// The response always travels with header v0 (KIP-511), which ``KafkaResponse`` takes care of.
/// An ApiVersions request at a version above 4 never reaches this handler: the broker answers
/// it with a v0 body and UNSUPPORTED_VERSION (see ``unsupportedVersionResponse(context:)``).
///
/// From v3 it lists the one feature this broker has: `transaction.version`, supported 0-2 and
/// finalized at 2, so clients that know transactions V2 (KIP-890 part 2: Produce v12 adds
/// partitions implicitly, EndTxn v5 bumps the epoch, TxnOffsetCommit v5 adds the offsets
/// partition) use them. Kafka's other features (`metadata.version`, `group.version`, ...)
/// describe KRaft metadata and are not listed.
struct ApiVersionsHandler: RequestHandler {
    typealias Request = ApiVersionsRequest

    /// The finalized `transaction.version`.
    static let transactionVersion: Int16 = 2

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
        var supported = ApiVersionsResponse.SupportedFeatureKey()
        supported.name = "transaction.version"
        supported.minVersion = 0
        supported.maxVersion = Self.transactionVersion
        response.supportedFeatures = [supported]
        var finalized = ApiVersionsResponse.FinalizedFeatureKey()
        finalized.name = "transaction.version"
        finalized.minVersionLevel = Self.transactionVersion
        finalized.maxVersionLevel = Self.transactionVersion
        response.finalizedFeatures = [finalized]
        // Finalized once and never changed: a fixed epoch.
        response.finalizedFeaturesEpoch = 1
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
