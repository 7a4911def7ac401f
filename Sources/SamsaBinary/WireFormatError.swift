/// An error thrown while decoding Kafka wire data: the bytes do not form a valid value.
///
/// Decoding never traps on bad input; every read checks the bytes left first and throws this
/// error instead. It is a struct wrapping a private enum so that cases can be added later.
public struct WireFormatError: Error, Hashable, Sendable, CustomStringConvertible {
    private enum Kind: Hashable, Sendable {
        case truncated(needed: Int, available: Int)
        case invalidLength(Int64)
        case lengthOverLimit(length: Int64, limit: Int)
        case varintTooLong
        case invalidValue(String)
        case checksumMismatch(expected: UInt32, actual: UInt32)
    }

    private let kind: Kind
    /// What was being decoded when the error occurred, such as `"FetchRequest.topics"`.
    public private(set) var context: String

    private init(_ kind: Kind, context: String = "") {
        self.kind = kind
        self.context = context
    }

    /// Fewer bytes are left than the value needs.
    public static func truncated(needed: Int, available: Int) -> Self {
        Self(.truncated(needed: needed, available: available))
    }

    /// A length or count field holds a value no encoder would write (for example -5).
    public static func invalidLength(_ length: Int64) -> Self {
        Self(.invalidLength(length))
    }

    /// A length or count is larger than the bytes left or the configured limit.
    public static func lengthOverLimit(_ length: Int64, limit: Int) -> Self {
        Self(.lengthOverLimit(length: length, limit: limit))
    }

    /// A varint ran past its maximum width (5 bytes for 32 bits, 10 for 64 bits).
    public static let varintTooLong = Self(.varintTooLong)

    /// A value that is structurally readable but not allowed (a bad magic byte, an unknown codec).
    public static func invalidValue(_ message: String) -> Self {
        Self(.invalidValue(message))
    }

    /// A stored checksum does not match the bytes it covers.
    public static func checksumMismatch(expected: UInt32, actual: UInt32) -> Self {
        Self(.checksumMismatch(expected: expected, actual: actual))
    }

    /// Returns a copy of this error that names where decoding failed; outer contexts come first.
    public func adding(context outer: String) -> Self {
        var copy = self
        copy.context = context.isEmpty ? outer : "\(outer).\(context)"
        return copy
    }

    /// True when the input ended early (as opposed to holding an invalid value).
    public var isTruncation: Bool {
        if case .truncated = kind { return true }
        return false
    }

    public var description: String {
        let prefix = context.isEmpty ? "" : "\(context): "
        switch kind {
        case .truncated(let needed, let available):
            return "\(prefix)truncated input: needed \(needed) bytes, \(available) left"
        case .invalidLength(let length):
            return "\(prefix)invalid length \(length)"
        case .lengthOverLimit(let length, let limit):
            return "\(prefix)length \(length) exceeds the limit of \(limit)"
        case .varintTooLong:
            return "\(prefix)varint longer than its maximum width"
        case .invalidValue(let message):
            return "\(prefix)\(message)"
        case .checksumMismatch(let expected, let actual):
            return "\(prefix)checksum mismatch: stored \(expected), computed \(actual)"
        }
    }
}
