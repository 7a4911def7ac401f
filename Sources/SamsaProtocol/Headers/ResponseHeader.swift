import NIOCore
import SamsaBinary

/// The header in front of every response body.
///
/// - v0: `correlation_id int32`.
/// - v1: v0 followed by a tagged-field section.
///
/// A response uses v1 when its version is flexible and v0 otherwise, except that ApiVersions
/// responses always use v0 (KIP-511): ``ApiMessageDescriptor/responseHeaderVersion(for:)``.
public struct ResponseHeader: Hashable, Sendable {
    /// The correlation id of the request this answers.
    public var correlationId: Int32
    /// Tagged fields of a v1 header; no tags are defined, so all are kept here.
    public var unknownTaggedFields: [TaggedField]

    public init(correlationId: Int32, unknownTaggedFields: [TaggedField] = []) {
        self.correlationId = correlationId
        self.unknownTaggedFields = unknownTaggedFields
    }

    /// Decodes a header of the given header version (0 or 1).
    public init(from buffer: inout ByteBuffer, headerVersion: Int16) throws(WireFormatError) {
        do throws(WireFormatError) {
            self.correlationId = try buffer.readKafkaInt32()
            self.unknownTaggedFields = headerVersion >= 1 ? try buffer.readUnknownTaggedFields() : []
        } catch {
            throw error.adding(context: "ResponseHeader")
        }
    }

    /// Appends the header in the given header version.
    public func encode(into buffer: inout ByteBuffer, headerVersion: Int16) {
        buffer.writeKafkaInt32(correlationId)
        if headerVersion >= 1 {
            buffer.writeTaggedFields(unknownTaggedFields)
        }
    }

    /// The header version of a response for `apiKey` at `apiVersion` (0 for a key not in the spec).
    public static func headerVersion(apiKey: ApiKey, apiVersion: Int16) -> Int16 {
        guard let descriptor = ApiMessageTable.descriptor(for: apiKey) else { return 0 }
        return descriptor.responseHeaderVersion(for: apiVersion)
    }
}
