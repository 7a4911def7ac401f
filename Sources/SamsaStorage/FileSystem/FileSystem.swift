import NIOCore

/// The file system the log runs on: the POSIX one in production, an in-memory one or a
/// fault-injecting one in tests (``PosixFileSystem``, ``InMemoryFileSystem``, ``FaultyFileSystem``).
///
/// Paths are plain strings with `/` separators. Every method throws ``StorageError``.
/// Contract (checked by one test suite run against each implementation):
/// - `rename(from:to:)` is atomic and replaces an existing file at `to`;
/// - data written to a ``StorageFile`` survives a crash only after ``StorageFile/sync()``;
/// - a removed file stays readable through handles opened before, until they are released.
public protocol FileSystem: Sendable {
    /// Opens the file at `path` for reading and writing, creating it (empty) when `create` is true.
    func openFile(at path: String, create: Bool) throws -> any StorageFile
    /// True when a file or directory exists at `path`.
    func exists(at path: String) -> Bool
    /// True when `path` is a directory.
    func isDirectory(at path: String) -> Bool
    /// Creates the directory at `path` and any missing parents; succeeds if it exists.
    func createDirectory(at path: String) throws
    /// The names (not paths) of the entries of the directory at `path`, sorted.
    func contentsOfDirectory(at path: String) throws -> [String]
    /// Removes the file at `path`.
    func removeFile(at path: String) throws
    /// Removes the directory at `path` with everything in it.
    func removeDirectory(at path: String) throws
    /// Atomically renames `source` to `destination`, replacing a file already there.
    func rename(from source: String, to destination: String) throws
    /// Makes the directory's entries (created, renamed, removed names) durable.
    func syncDirectory(at path: String) throws
}

/// An open file: positional reads and writes, size, truncation and sync.
///
/// A handle stays valid while referenced, even after its path is removed or renamed, so a
/// fetch holding a ``FileRange`` can still send the bytes after retention deleted the segment.
public protocol StorageFile: AnyObject, Sendable {
    /// The path the file was opened with.
    var path: String { get }
    /// The POSIX file descriptor, for `sendfile`; nil when the file is not backed by one.
    var fileDescriptor: Int32? { get }
    /// The current size in bytes.
    func size() throws -> Int64
    /// Writes all readable bytes of `buffer` at `position`, growing the file as needed.
    func write(_ buffer: ByteBuffer, at position: Int64) throws
    /// Writes the readable bytes of `buffers` one after the other from `position` (one
    /// `pwritev` where possible), so a patched header and an untouched body need no copy.
    func write(gathering buffers: [ByteBuffer], at position: Int64) throws
    /// Reads up to `count` bytes at `position`; fewer only when the file ends first.
    func read(at position: Int64, count: Int) throws -> ByteBuffer
    /// Makes all data written so far durable (fdatasync).
    func sync() throws
    /// Cuts or extends the file to `size` bytes.
    func truncate(to size: Int64) throws
}

/// Small helpers for `/`-separated paths.
public enum StoragePath {
    /// `directory` and `name` joined with one `/`.
    public static func join(_ directory: String, _ name: String) -> String {
        if directory.isEmpty { return name }
        return directory.hasSuffix("/") ? directory + name : directory + "/" + name
    }

    /// The last component of `path`.
    public static func lastComponent(_ path: String) -> String {
        var trimmed = Substring(path)
        while trimmed.count > 1, trimmed.hasSuffix("/") { trimmed = trimmed.dropLast() }
        guard let slash = trimmed.lastIndex(of: "/") else { return String(trimmed) }
        return String(trimmed[trimmed.index(after: slash)...])
    }

    /// Everything before the last component of `path` (`"."` when there is none).
    public static func parent(_ path: String) -> String {
        var trimmed = Substring(path)
        while trimmed.count > 1, trimmed.hasSuffix("/") { trimmed = trimmed.dropLast() }
        guard let slash = trimmed.lastIndex(of: "/") else { return "." }
        if slash == trimmed.startIndex { return "/" }
        return String(trimmed[..<slash])
    }
}
