// The parsed form of a spec file, before struct references and version ranges are resolved.

/// A closed range of protocol versions; empty when `upper < lower`.
public struct VersionRange: Hashable, Sendable, CustomStringConvertible {
    /// The highest version number the protocol can carry (an int16).
    public static let maximum: Int = 32767

    public var lower: Int
    public var upper: Int

    public init(_ lower: Int, _ upper: Int) {
        self.lower = lower
        self.upper = upper
    }

    /// The range that contains no version.
    public static let empty = VersionRange(1, 0)

    public var isEmpty: Bool { upper < lower }

    public func contains(_ version: Int) -> Bool { version >= lower && version <= upper }

    /// True when every version of `other` is in this range (an empty `other` is contained).
    public func contains(_ other: VersionRange) -> Bool {
        other.isEmpty || (!isEmpty && other.lower >= lower && other.upper <= upper)
    }

    public func intersection(_ other: VersionRange) -> VersionRange {
        let result = VersionRange(Swift.max(lower, other.lower), Swift.min(upper, other.upper))
        return result.isEmpty ? .empty : result
    }

    /// The smallest range holding both ranges (versions between them included).
    public func hull(_ other: VersionRange) -> VersionRange {
        if isEmpty { return other }
        if other.isEmpty { return self }
        return VersionRange(Swift.min(lower, other.lower), Swift.max(upper, other.upper))
    }

    public var description: String {
        if isEmpty { return "none" }
        if upper == VersionRange.maximum { return "\(lower)+" }
        return lower == upper ? "\(lower)" : "\(lower)-\(upper)"
    }
}

/// The primitive wire types of the spec format.
public enum PrimitiveType: String, Sendable, CaseIterable {
    case bool, int8, int16, uint16, int32, uint32, int64, float64, string, bytes, uuid, records

    /// True for the types that may be declared `nullable`.
    var canBeNullable: Bool {
        switch self {
        case .string, .bytes, .records: return true
        default: return false
        }
    }
}

/// The type of a field as written in the spec.
public indirect enum FieldType: Hashable, Sendable {
    case primitive(PrimitiveType)
    case structure(String)
    case array(FieldType)

    /// The struct this type names, directly or as an array element.
    var structName: String? {
        switch self {
        case .primitive: return nil
        case .structure(let name): return name
        case .array(let element): return element.structName
        }
    }
}

/// A `default` value as written in the spec.
public enum DefaultValue: Hashable, Sendable {
    case null
    case integer(Int64)
    case decimal(String)
    case boolean(Bool)
    case string(String)
}

/// One field line, with the fields indented under it (for an inline struct).
public struct RawField: Sendable {
    public var name: String
    public var type: FieldType
    public var versions: VersionRange?
    /// nil when the field is never nullable.
    public var nullableVersions: VersionRange?
    public var tag: Int?
    public var defaultValue: DefaultValue?
    public var ignorable: Bool
    public var doc: [String]
    public var line: Int
    public var children: [RawField]
}

/// A `struct Name` declaration, or the implicit struct of an inline field.
public struct RawStruct: Sendable {
    public var name: String
    public var versions: VersionRange?
    public var doc: [String]
    public var line: Int
    public var fields: [RawField]
}

/// The `request` or `response` section of a message file.
public struct RawSection: Sendable {
    public var line: Int
    public var doc: [String]
    public var fields: [RawField]
    public var structs: [RawStruct]
}

/// A parsed `Spec/Messages/NN-Name.spec` file.
public struct RawApiSpec: Sendable {
    public var path: String
    public var apiKey: Int
    public var name: String
    public var doc: [String]
    public var versions: VersionRange
    public var advertisedVersions: VersionRange?
    public var firstFlexibleVersion: Int?
    public var request: RawSection
    public var response: RawSection
}

/// One line of `Spec/ErrorCodes.spec`.
public struct ErrorCodeSpec: Sendable, Hashable {
    public var code: Int
    public var name: String
    public var isRetriable: Bool
    public var message: String
    public var line: Int
}

/// A malformed spec: the file, the line and what is wrong, printed as `file:line: message`.
public struct SpecError: Error, CustomStringConvertible, Sendable {
    public var file: String
    public var line: Int
    public var message: String

    public init(file: String, line: Int, message: String) {
        self.file = file
        self.line = line
        self.message = message
    }

    public var description: String { "\(file):\(line): \(message)" }
}
