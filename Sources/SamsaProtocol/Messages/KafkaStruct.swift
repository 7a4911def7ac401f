import NIOCore
import SamsaBinary

/// A value with Kafka's versioned wire format: every generated message and nested struct.
///
/// Decoding reads the fields that exist at `version` and leaves the others at their defaults;
/// encoding writes only the fields that exist at `version`. In flexible versions each struct
/// ends with a tagged-field section; tags this library does not know are kept in
/// `unknownTaggedFields` and written back on encode.
public protocol KafkaStruct: Sendable, Hashable {
    /// Tagged fields that were read but are not part of the spec, in wire order.
    var unknownTaggedFields: [TaggedField] { get set }

    /// Creates a value with every field at its default.
    init()

    /// Decodes a value written at `version`. Never traps on malformed input.
    init(from buffer: inout ByteBuffer, version: Int16) throws(WireFormatError)

    /// Appends the value as written at `version`.
    func encode(into buffer: inout ByteBuffer, version: Int16)
}
