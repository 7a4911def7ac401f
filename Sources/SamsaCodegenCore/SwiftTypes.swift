// Swift spellings of spec types and defaults, and minimum wire sizes.

extension PrimitiveType {
    /// The Swift type of a non-null value.
    var swiftType: String {
        switch self {
        case .bool: return "Bool"
        case .int8: return "Int8"
        case .int16: return "Int16"
        case .uint16: return "UInt16"
        case .int32: return "Int32"
        case .uint32: return "UInt32"
        case .int64: return "Int64"
        case .float64: return "Double"
        case .string: return "String"
        case .bytes, .records: return "ByteBuffer"
        case .uuid: return "KafkaUUID"
        }
    }

    /// The fixed-width reader/writer suffix (`Int32` in `readKafkaInt32`), nil for variable-size types.
    var fixedWidthName: String? {
        switch self {
        case .bool: return "Bool"
        case .int8: return "Int8"
        case .int16: return "Int16"
        case .uint16: return "UInt16"
        case .int32: return "Int32"
        case .uint32: return "UInt32"
        case .int64: return "Int64"
        case .float64: return "Float64"
        case .uuid: return "UUID"
        case .string, .bytes, .records: return nil
        }
    }

    /// The name of the TestRandom method producing a value of this type.
    var randomName: String {
        switch self {
        case .records: return "bytes"
        default: return rawValue
        }
    }

    /// The fewest bytes a value takes on the wire.
    func minimumWireSize(compact: Bool) -> Int {
        switch self {
        case .bool, .int8: return 1
        case .int16, .uint16: return 2
        case .int32, .uint32: return 4
        case .int64, .float64: return 8
        case .uuid: return 16
        case .string: return compact ? 1 : 2
        case .bytes, .records: return compact ? 1 : 4
        }
    }
}

extension ResolvedField {
    /// The bare property name (no backticks), used in error contexts and local names.
    var plainName: String { Naming.lowerCamel(specName) }

    var swiftType: String {
        let optional = isOptional ? "?" : ""
        switch type {
        case .primitive(.records): return "ByteBuffer?"
        case .primitive(let primitive): return primitive.swiftType + optional
        case .structure(let name): return name + optional
        case .array(let element): return "[" + FieldTypeSpelling.element(element) + "]" + optional
        }
    }

    /// The Swift expression of the field's default value.
    var defaultExpression: String {
        if defaultValue == .null { return "nil" }
        switch type {
        case .primitive(let primitive):
            switch (primitive, defaultValue) {
            case (.records, _): return "nil"
            case (_, .integer(let number)?): return primitive == .float64 ? "\(number).0" : "\(number)"
            case (_, .decimal(let text)?): return text
            case (_, .boolean(let flag)?): return flag ? "true" : "false"
            case (_, .string(let text)?): return Naming.stringLiteral(text)
            default: break
            }
            switch primitive {
            case .bool: return "false"
            case .float64: return "0.0"
            case .string: return "\"\""
            case .bytes, .records: return "ByteBuffer()"
            case .uuid: return "KafkaUUID.zero"
            default: return "0"
            }
        case .structure(let name): return name + "()"
        case .array: return "[]"
        }
    }

    /// An expression that is true when the field differs from its default (tagged fields are
    /// written only then).
    var differsFromDefault: String {
        let value = "self.\(swiftName)"
        let defaultValue = defaultExpression
        if case .array = type, !isOptional { return "!\(value).isEmpty" }
        return "\(value) != \(defaultValue)"
    }
}

enum FieldTypeSpelling {
    static func element(_ element: FieldType) -> String {
        switch element {
        case .primitive(let primitive): return primitive.swiftType
        case .structure(let name): return name
        case .array(let inner): return "[" + self.element(inner) + "]"
        }
    }
}

/// Minimum wire sizes of structs at a given version, used to bound array counts.
struct WireSizes {
    let message: ResolvedMessage
    let flexible: VersionRange

    func structSize(_ name: String, version: Int) -> Int {
        guard let item = message.structNamed(name) else { return 1 }
        var total = flexible.contains(version) ? 1 : 0
        for field in item.fields where field.tag == nil && field.versions.contains(version) {
            total += fieldSize(field, version: version)
        }
        return total
    }

    func fieldSize(_ field: ResolvedField, version: Int) -> Int {
        let compact = flexible.contains(version)
        switch field.type {
        case .primitive(let primitive): return primitive.minimumWireSize(compact: compact)
        case .array: return compact ? 1 : 4
        case .structure(let name): return field.nullable.contains(version) ? 1 : structSize(name, version: version)
        }
    }

    /// The smallest size of one element of an array field over `versions`, at least 1.
    func elementSize(_ element: FieldType, over versions: VersionRange) -> Int {
        var smallest = Int.max
        if !versions.isEmpty {
            for version in versions.lower...versions.upper {
                let size: Int
                switch element {
                case .primitive(let primitive): size = primitive.minimumWireSize(compact: flexible.contains(version))
                case .structure(let name): size = structSize(name, version: version)
                case .array: size = flexible.contains(version) ? 1 : 4
                }
                smallest = min(smallest, size)
            }
        }
        return max(1, smallest == Int.max ? 1 : smallest)
    }
}
