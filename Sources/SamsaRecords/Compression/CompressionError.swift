/// An error from compressing or decompressing record data.
///
/// Decompression never traps and never grows memory past its budget: corrupt input, input that
/// would expand past the budget, and a codec library that cannot be loaded are all thrown as
/// this error. A struct wrapping a private enum, so that cases can be added later.
public struct CompressionError: Error, Hashable, Sendable, CustomStringConvertible {
    private enum Kind: Hashable, Sendable {
        case libraryUnavailable(library: String, reason: String)
        case corruptInput(String)
        case overBudget(limit: Int)
        case resourceFailure(String)
    }

    private let kind: Kind
    /// The codec that failed.
    public let codec: CompressionCodec

    private init(_ kind: Kind, codec: CompressionCodec) {
        self.kind = kind
        self.codec = codec
    }

    /// The system library the codec needs could not be loaded (Kafka's UNSUPPORTED_COMPRESSION_TYPE).
    public static func libraryUnavailable(_ codec: CompressionCodec, library: String, reason: String) -> Self {
        Self(.libraryUnavailable(library: library, reason: reason), codec: codec)
    }

    /// The compressed bytes are not valid for the codec (Kafka's CORRUPT_MESSAGE).
    public static func corruptInput(_ codec: CompressionCodec, _ message: String) -> Self {
        Self(.corruptInput(message), codec: codec)
    }

    /// The output would be larger than the decompression budget.
    public static func overBudget(_ codec: CompressionCodec, limit: Int) -> Self {
        Self(.overBudget(limit: limit), codec: codec)
    }

    /// The library could not set up a stream (out of memory, or it refused its parameters).
    public static func resourceFailure(_ codec: CompressionCodec, _ message: String) -> Self {
        Self(.resourceFailure(message), codec: codec)
    }

    /// True when decompression stopped because the output would exceed its budget.
    public var isOverBudget: Bool {
        if case .overBudget = kind { return true }
        return false
    }

    /// True when the codec's system library is missing.
    public var isLibraryUnavailable: Bool {
        if case .libraryUnavailable = kind { return true }
        return false
    }

    /// True when the input is not valid compressed data.
    public var isCorruptInput: Bool {
        if case .corruptInput = kind { return true }
        return false
    }

    public var description: String {
        switch kind {
        case .libraryUnavailable(let library, let reason):
            return "\(codec): cannot load \(library) (\(reason))"
        case .corruptInput(let message):
            return "\(codec): corrupt compressed data: \(message)"
        case .overBudget(let limit):
            return "\(codec): decompressed data exceeds the limit of \(limit) bytes"
        case .resourceFailure(let message):
            return "\(codec): \(message)"
        }
    }
}
