import SamsaBinary

/// An error from reading the records of a batch: either the bytes are malformed or the
/// compressed block could not be decompressed.
public enum RecordBatchError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The batch or a record is malformed (Kafka's CORRUPT_MESSAGE or INVALID_RECORD).
    case wireFormat(WireFormatError)
    /// The compressed records could not be decompressed, exceeded the budget, or the codec's
    /// library is missing.
    case compression(CompressionError)

    public var description: String {
        switch self {
        case .wireFormat(let error): "\(error)"
        case .compression(let error): "\(error)"
        }
    }
}
