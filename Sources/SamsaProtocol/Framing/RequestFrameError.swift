import SamsaBinary

/// Why a request frame could not be decoded. Each case carries what was readable, so that a
/// broker can still answer (ApiVersions at an unsupported version gets a v0 error response,
/// KIP-511) or log the request before closing the connection.
public enum RequestFrameError: Error, Sendable, CustomStringConvertible {
    /// Fewer than the 8 bytes every request header starts with, or a malformed client id.
    case malformedHeader(WireFormatError)
    /// The API key is not in the spec. The header holds the api key, version and correlation
    /// id; Kafka closes the connection in this case.
    case unknownApiKey(RequestHeader)
    /// The version is outside the API's supported versions; the header was fully decoded.
    case unsupportedVersion(RequestHeader)
    /// The header was decoded but the body is malformed.
    case malformedBody(RequestHeader, WireFormatError)

    public var description: String {
        switch self {
        case .malformedHeader(let error):
            return "malformed request header: \(error)"
        case .unknownApiKey(let header):
            return "unknown API key \(header.apiKey.rawValue) (correlation id \(header.correlationId))"
        case .unsupportedVersion(let header):
            return "unsupported version \(header.apiVersion) of \(header.apiKey) (correlation id \(header.correlationId))"
        case .malformedBody(let header, let error):
            return "malformed \(header.apiKey) v\(header.apiVersion) request (correlation id \(header.correlationId)): \(error)"
        }
    }
}
