import NIOCore
import SamsaBinary

/// The header in front of every request body.
///
/// - v0: `api_key int16, api_version int16, correlation_id int32` (only ControlledShutdown v0).
/// - v1: adds `client_id`, a nullable STRING with an int16 length. It is never compact, even
///   in v2, so that any broker can read it before knowing the API's versions.
/// - v2: v1 followed by a tagged-field section.
///
/// A request uses v2 when its version is flexible and v1 otherwise
/// (``ApiMessageDescriptor/requestHeaderVersion(for:)``).
public struct RequestHeader: Hashable, Sendable {
    public var apiKey: ApiKey
    public var apiVersion: Int16
    /// Echoed in the response so that the client can match it to this request.
    public var correlationId: Int32
    /// The client's self-chosen name (header v1+); null is allowed on the wire.
    public var clientId: String?
    /// Tagged fields of a v2 header; no tags are defined, so all are kept here.
    public var unknownTaggedFields: [TaggedField]

    public init(
        apiKey: ApiKey, apiVersion: Int16, correlationId: Int32, clientId: String? = nil,
        unknownTaggedFields: [TaggedField] = []
    ) {
        self.apiKey = apiKey
        self.apiVersion = apiVersion
        self.correlationId = correlationId
        self.clientId = clientId
        self.unknownTaggedFields = unknownTaggedFields
    }

    /// Decodes a header of the given header version (0, 1 or 2).
    public init(from buffer: inout ByteBuffer, headerVersion: Int16) throws(WireFormatError) {
        do throws(WireFormatError) {
            self.apiKey = ApiKey(rawValue: try buffer.readKafkaInt16())
            self.apiVersion = try buffer.readKafkaInt16()
            self.correlationId = try buffer.readKafkaInt32()
            self.clientId = headerVersion >= 1 ? try buffer.readKafkaNullableString() : nil
            self.unknownTaggedFields = headerVersion >= 2 ? try buffer.readUnknownTaggedFields() : []
        } catch {
            throw error.adding(context: "RequestHeader")
        }
    }

    /// Appends the header in the given header version.
    public func encode(into buffer: inout ByteBuffer, headerVersion: Int16) {
        buffer.writeKafkaInt16(apiKey.rawValue)
        buffer.writeKafkaInt16(apiVersion)
        buffer.writeKafkaInt32(correlationId)
        if headerVersion >= 1 {
            // Never compact: see the type's documentation.
            buffer.writeKafkaNullableString(clientId)
        }
        if headerVersion >= 2 {
            buffer.writeTaggedFields(unknownTaggedFields)
        }
    }

    /// The header version of a request for `apiKey` at `apiVersion`; for a key not in the spec
    /// this is 1, the version whose fields every request header starts with.
    public static func headerVersion(apiKey: ApiKey, apiVersion: Int16) -> Int16 {
        guard let descriptor = ApiMessageTable.descriptor(for: apiKey) else { return 1 }
        return descriptor.requestHeaderVersion(for: apiVersion)
    }
}
