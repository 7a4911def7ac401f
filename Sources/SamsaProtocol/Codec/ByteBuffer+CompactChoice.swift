import NIOCore
import SamsaBinary

// Strings and bytes whose encoding depends on whether the message version is flexible. The
// generated code passes `compact: flexible` instead of branching at every field.

extension ByteBuffer {
    mutating func readKafkaString(compact: Bool) throws(WireFormatError) -> String {
        compact ? try readCompactString() : try readKafkaString()
    }

    mutating func readKafkaNullableString(compact: Bool) throws(WireFormatError) -> String? {
        compact ? try readCompactNullableString() : try readKafkaNullableString()
    }

    mutating func readKafkaBytes(compact: Bool) throws(WireFormatError) -> ByteBuffer {
        compact ? try readCompactBytes() : try readKafkaBytes()
    }

    mutating func readKafkaNullableBytes(compact: Bool) throws(WireFormatError) -> ByteBuffer? {
        compact ? try readCompactNullableBytes() : try readKafkaNullableBytes()
    }

    mutating func writeKafkaString(_ value: String, compact: Bool) {
        if compact { writeCompactString(value) } else { writeKafkaString(value) }
    }

    mutating func writeKafkaNullableString(_ value: String?, compact: Bool) {
        if compact { writeCompactNullableString(value) } else { writeKafkaNullableString(value) }
    }

    mutating func writeKafkaBytes(_ value: ByteBuffer, compact: Bool) {
        if compact { writeCompactBytes(value) } else { writeKafkaBytes(value) }
    }

    mutating func writeKafkaNullableBytes(_ value: ByteBuffer?, compact: Bool) {
        if compact { writeCompactNullableBytes(value) } else { writeKafkaNullableBytes(value) }
    }
}
