import NIOCore
import SamsaBinary

/// The body of a request or a response of one Kafka API.
public protocol KafkaMessage: KafkaStruct {
    /// The API this message belongs to.
    static var apiKey: ApiKey { get }
    /// The versions this library encodes and decodes (the spec's `versions`).
    static var supportedVersions: ClosedRange<Int16> { get }
    /// The versions a broker advertises in ApiVersions (the spec's `advertise`, else `versions`).
    static var advertisedVersions: ClosedRange<Int16> { get }
    /// The first version that uses compact encodings and tagged fields, or nil if none does.
    static var firstFlexibleVersion: Int16? { get }
}

extension KafkaMessage {
    /// True when `version` uses compact encodings and tagged fields.
    public static func isFlexible(version: Int16) -> Bool {
        guard let first = firstFlexibleVersion else { return false }
        return version >= first
    }
}

/// A request body. Its `Response` type is the body a broker answers with.
public protocol KafkaRequestMessage: KafkaMessage {
    /// The body of the response to this request.
    associatedtype Response: KafkaResponseMessage
}

/// A response body.
public protocol KafkaResponseMessage: KafkaMessage {}
