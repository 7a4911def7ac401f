import NIOCore
import SamsaBinary

// Arrays and nested structs in generated messages. Every array count is checked against the
// bytes left (count × the element's minimum wire size) before any memory is reserved, so a
// hostile count fails before it can allocate. Errors gain the field name as context.

extension ByteBuffer {
    mutating func readKafkaArrayCount(compact: Bool, minimumElementSize: Int) throws(WireFormatError) -> Int? {
        if compact {
            return try readCompactArrayCount(minimumElementSize: minimumElementSize)
        }
        return try readArrayCount(minimumElementSize: minimumElementSize)
    }

    mutating func writeKafkaArrayCount(_ count: Int?, compact: Bool) {
        if compact { writeCompactArrayCount(count) } else { writeArrayCount(count) }
    }

    /// Reads an array of primitives; nil is a null array.
    mutating func readKafkaArray<Element: KafkaArrayElement>(
        _: Element.Type, compact: Bool, context: String
    ) throws(WireFormatError) -> [Element]? {
        do throws(WireFormatError) {
            let minimumSize = Element.minimumWireSize(compact: compact)
            guard let count = try readKafkaArrayCount(compact: compact, minimumElementSize: minimumSize) else { return nil }
            var elements: [Element] = []
            elements.reserveCapacity(count)
            for _ in 0..<count {
                elements.append(try Element.read(from: &self, compact: compact))
            }
            return elements
        } catch {
            throw error.adding(context: context)
        }
    }

    /// Writes an array of primitives; nil writes a null array.
    mutating func writeKafkaArray<Element: KafkaArrayElement>(_ elements: [Element]?, compact: Bool) {
        writeKafkaArrayCount(elements?.count, compact: compact)
        guard let elements else { return }
        for element in elements {
            element.write(to: &self, compact: compact)
        }
    }

    /// Reads an array of structs; nil is a null array.
    ///
    /// - Parameter minimumElementSize: the fewest bytes one element takes at this version.
    mutating func readKafkaStructArray<Element: KafkaStruct>(
        _: Element.Type, version: Int16, compact: Bool, minimumElementSize: Int, context: String
    ) throws(WireFormatError) -> [Element]? {
        do throws(WireFormatError) {
            guard let count = try readKafkaArrayCount(compact: compact, minimumElementSize: minimumElementSize) else {
                return nil
            }
            var elements: [Element] = []
            elements.reserveCapacity(count)
            for _ in 0..<count {
                elements.append(try Element(from: &self, version: version))
            }
            return elements
        } catch {
            throw error.adding(context: context)
        }
    }

    /// Writes an array of structs; nil writes a null array.
    mutating func writeKafkaStructArray<Element: KafkaStruct>(_ elements: [Element]?, version: Int16, compact: Bool) {
        writeKafkaArrayCount(elements?.count, compact: compact)
        guard let elements else { return }
        for element in elements {
            element.encode(into: &self, version: version)
        }
    }

    /// Reads a nested struct.
    mutating func readKafkaStruct<Value: KafkaStruct>(
        _: Value.Type, version: Int16, context: String
    ) throws(WireFormatError) -> Value {
        do throws(WireFormatError) {
            return try Value(from: &self, version: version)
        } catch {
            throw error.adding(context: context)
        }
    }

    /// Reads a nullable struct: an int8 marker (-1 null, anything else present), then the struct.
    mutating func readKafkaNullableStruct<Value: KafkaStruct>(
        _: Value.Type, version: Int16, context: String
    ) throws(WireFormatError) -> Value? {
        do throws(WireFormatError) {
            let marker = try readKafkaInt8()
            if marker < 0 { return nil }
            return try Value(from: &self, version: version)
        } catch {
            throw error.adding(context: context)
        }
    }

    /// Writes a nullable struct: -1 for null, else 1 followed by the struct.
    mutating func writeKafkaNullableStruct<Value: KafkaStruct>(_ value: Value?, version: Int16) {
        guard let value else {
            writeKafkaInt8(-1)
            return
        }
        writeKafkaInt8(1)
        value.encode(into: &self, version: version)
    }
}
