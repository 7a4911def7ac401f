/// An operating error of the storage layer: an I/O failure, a corrupt file, or a request the
/// log cannot serve (an offset out of range, a log that is closed).
///
/// A struct wrapping a private enum so that kinds can be added without breaking callers. Every
/// error carries the path (and where it matters the file position) it concerns.
public struct StorageError: Error, Hashable, Sendable, CustomStringConvertible {
    private enum Kind: Hashable, Sendable {
        case io(operation: String, errno: Int32)
        case corrupt(position: Int64, message: String)
        case offsetOutOfRange(offset: Int64, logStartOffset: Int64, logEndOffset: Int64)
        case invalidBatch(String)
        case batchTooLarge(size: Int, limit: Int)
        case closed
        case notFound
        case alreadyExists
        case notCached
    }

    private let kind: Kind
    /// The file or directory the error concerns (empty when none).
    public let path: String

    private init(_ kind: Kind, path: String) {
        self.kind = kind
        self.path = path
    }

    /// A system call failed with `errno`.
    public static func io(_ operation: String, path: String, errno: Int32) -> Self {
        Self(.io(operation: operation, errno: errno), path: path)
    }

    /// A file holds bytes that do not form what the format says at `position`.
    public static func corrupt(path: String, position: Int64, _ message: String) -> Self {
        Self(.corrupt(position: position, message: message), path: path)
    }

    /// A read asked for an offset outside `[logStartOffset, logEndOffset]`.
    public static func offsetOutOfRange(_ offset: Int64, logStartOffset: Int64, logEndOffset: Int64) -> Self {
        Self(.offsetOutOfRange(offset: offset, logStartOffset: logStartOffset, logEndOffset: logEndOffset), path: "")
    }

    /// An append was given bytes that are not valid record batches.
    public static func invalidBatch(_ message: String) -> Self {
        Self(.invalidBatch(message), path: "")
    }

    /// An append was given a batch larger than the configured maximum.
    public static func batchTooLarge(size: Int, limit: Int) -> Self {
        Self(.batchTooLarge(size: size, limit: limit), path: "")
    }

    /// The log or file was closed (or deleted) before the operation.
    public static func closed(path: String) -> Self {
        Self(.closed, path: path)
    }

    /// The file or directory does not exist.
    public static func notFound(path: String) -> Self {
        Self(.notFound, path: path)
    }

    /// The file or directory exists already.
    public static func alreadyExists(path: String) -> Self {
        Self(.alreadyExists, path: path)
    }

    /// A read that may not wait for the disk needed bytes outside the page cache. Stays inside
    /// the storage layer: its callers get nil from a `readIfCached` method instead.
    static func notCached(path: String) -> Self {
        Self(.notCached, path: path)
    }

    var isNotCached: Bool {
        if case .notCached = kind { return true }
        return false
    }

    /// True for ``offsetOutOfRange(_:logStartOffset:logEndOffset:)``.
    public var isOffsetOutOfRange: Bool {
        if case .offsetOutOfRange = kind { return true }
        return false
    }

    /// True for ``corrupt(path:position:_:)``.
    public var isCorruption: Bool {
        if case .corrupt = kind { return true }
        return false
    }

    /// True for ``invalidBatch(_:)`` and ``batchTooLarge(size:limit:)``: the caller sent bad data.
    public var isInvalidInput: Bool {
        switch kind {
        case .invalidBatch, .batchTooLarge: return true
        default: return false
        }
    }

    /// True for ``notFound(path:)``.
    public var isNotFound: Bool {
        if case .notFound = kind { return true }
        return false
    }

    /// True for ``closed(path:)``.
    public var isClosed: Bool {
        if case .closed = kind { return true }
        return false
    }

    public var description: String {
        let location = path.isEmpty ? "" : " (\(path))"
        switch kind {
        case .io(let operation, let errno):
            return "\(operation) failed with errno \(errno)\(location)"
        case .corrupt(let position, let message):
            return "corrupt data at position \(position)\(location): \(message)"
        case .offsetOutOfRange(let offset, let start, let end):
            return "offset \(offset) is outside the log range [\(start), \(end)]"
        case .invalidBatch(let message):
            return "invalid record batch: \(message)"
        case .batchTooLarge(let size, let limit):
            return "record batch of \(size) bytes exceeds the limit of \(limit) bytes"
        case .closed:
            return "closed\(location)"
        case .notFound:
            return "not found\(location)"
        case .alreadyExists:
            return "already exists\(location)"
        case .notCached:
            return "not in the page cache\(location)"
        }
    }
}
