import NIOCore

/// One tagged field as it appears on the wire: a tag number and its raw bytes.
///
/// Decoders keep the tagged fields they do not know in a list of these, so that a message can
/// be re-encoded byte for byte (franz-go's `UnknownTags` does the same).
public struct TaggedField: Hashable, Sendable {
    public var tag: UInt32
    public var data: ByteBuffer

    public init(tag: UInt32, data: ByteBuffer) {
        self.tag = tag
        self.data = data
    }
}

// The tagged-field section that closes every struct in flexible versions:
// `uvarint count`, then per field `uvarint tag, uvarint size, size bytes`, in ascending tag order.

extension ByteBuffer {
    /// Reads the count at the start of a tagged-field section. Each field takes at least two
    /// bytes (tag and size), which bounds the count by the bytes left.
    @inlinable
    public mutating func readTaggedFieldCount() throws(WireFormatError) -> Int {
        let count = Int(try readUnsignedVarint())
        return try checkedCount(count, minimumElementSize: 2)
    }

    /// Reads one tagged field's header and returns its tag and a slice holding exactly its bytes.
    @inlinable
    public mutating func readTaggedField() throws(WireFormatError) -> TaggedField {
        let tag = try readUnsignedVarint()
        let size = Int(try readUnsignedVarint())
        let data = try readSliceChecked(length: size)
        return TaggedField(tag: tag, data: data)
    }

    /// Reads a whole tagged-field section, keeping every field (for structs with no known tags).
    @inlinable
    public mutating func readUnknownTaggedFields() throws(WireFormatError) -> [TaggedField] {
        let count = try readTaggedFieldCount()
        if count == 0 { return [] }
        var fields = [TaggedField]()
        for _ in 0..<count {
            fields.append(try readTaggedField())
        }
        return fields
    }

    /// Writes a tagged-field section from fields already sorted by tag.
    @inlinable
    public mutating func writeTaggedFields(_ fields: [TaggedField]) {
        writeUnsignedVarint(UInt32(fields.count))
        for field in fields {
            writeUnsignedVarint(field.tag)
            writeUnsignedVarint(UInt32(field.data.readableBytes))
            writeImmutableBuffer(field.data)
        }
    }

    /// Writes an empty tagged-field section: the single byte 0.
    @inlinable
    public mutating func writeEmptyTaggedFields() {
        writeInteger(UInt8(0))
    }
}

extension Array where Element == TaggedField {
    /// Inserts `field` keeping the list sorted by tag (known and unknown fields are merged this
    /// way before a section is written).
    @inlinable
    public mutating func insertSorted(_ field: TaggedField) {
        let index = firstIndex { $0.tag > field.tag } ?? endIndex
        insert(field, at: index)
    }
}
