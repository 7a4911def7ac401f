import NIOCore

/// The file system the log runs on: the POSIX one in production, an in-memory one in tests and
/// simulations (``PosixFileSystem``, ``InMemoryFileSystem``; the SamsaTesting library adds a
/// fault-injecting one).
///
/// Paths are plain strings with `/` separators. Every method throws ``StorageError``.
/// Contract (checked by one test suite run against each implementation):
/// - `rename(from:to:)` is atomic and replaces an existing file at `to`;
/// - data written to a ``StorageFile`` survives a crash only after ``StorageFile/sync()``;
/// - names survive a crash only after their directory is synced, as in POSIX: a created file
///   or directory, a rename and a removal become durable with ``syncDirectory(at:)`` of the
///   parent directory (of both parents for a rename between directories); until then a crash
///   may undo them, whatever was synced inside the file;
/// - a removed file stays readable through handles opened before, until they are released.
public protocol FileSystem: Sendable {
    /// Opens the file at `path` for reading and writing, creating it (empty) when `create` is true.
    func openFile(at path: String, create: Bool) throws(StorageError) -> any StorageFile
    /// True when a file or directory exists at `path`.
    func exists(at path: String) -> Bool
    /// True when `path` is a directory.
    func isDirectory(at path: String) -> Bool
    /// Creates the directory at `path` and any missing parents; succeeds if it exists. Each new
    /// directory is durable once its parent is synced (see ``createDirectoryDurably(at:)``).
    func createDirectory(at path: String) throws(StorageError)
    /// The names (not paths) of the entries of the directory at `path`, sorted.
    func contentsOfDirectory(at path: String) throws(StorageError) -> [String]
    /// Removes the file at `path`.
    func removeFile(at path: String) throws(StorageError)
    /// Removes the directory at `path` with everything in it.
    func removeDirectory(at path: String) throws(StorageError)
    /// Atomically renames `source` to `destination`, replacing a file already there.
    func rename(from source: String, to destination: String) throws(StorageError)
    /// Makes the directory's entries (created, renamed, removed names) durable.
    func syncDirectory(at path: String) throws(StorageError)
    /// Makes everything written and every name changed on the file system holding `path`
    /// durable at once (`syncfs(2)`): one call in place of thousands of file and directory
    /// syncs, as when every partition was recovered at start.
    func syncFileSystem(containing path: String) throws(StorageError)
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
    func size() throws(StorageError) -> Int64
    /// Writes all readable bytes of `buffer` at `position`, growing the file as needed.
    func write(_ buffer: ByteBuffer, at position: Int64) throws(StorageError)
    /// Writes the readable bytes of `buffers` one after the other from `position` (one
    /// `pwritev` where possible), so a patched header and an untouched body need no copy.
    func write(gathering buffers: [ByteBuffer], at position: Int64) throws(StorageError)
    /// Reads up to `count` bytes at `position`; fewer only when the file ends first.
    func read(at position: Int64, count: Int) throws(StorageError) -> ByteBuffer
    /// Reads as ``read(at:count:)`` does, but only from memory: nil when the bytes are not all
    /// in the page cache and the read would wait for the disk. A thread that must not block (an
    /// event loop) tries this first and hands the read to one that may only when it misses.
    func readIfCached(at position: Int64, count: Int) throws(StorageError) -> ByteBuffer?
    /// Makes all data written so far durable (fdatasync).
    func sync() throws(StorageError)
    /// Cuts or extends the file to `size` bytes.
    func truncate(to size: Int64) throws(StorageError)
}

extension FileSystem {
    /// Creates the directory at `path` and any missing parents, and syncs the parent of each
    /// directory it created, so that the new directories survive a crash.
    public func createDirectoryDurably(at path: String) throws(StorageError) {
        // The deepest existing ancestor: everything below it is created here.
        var missing: [String] = []
        var ancestor = path
        while !isDirectory(at: ancestor) {
            missing.append(ancestor)
            let parent = StoragePath.parent(ancestor)
            if parent == ancestor { break }
            ancestor = parent
        }
        guard !missing.isEmpty else { return }
        try createDirectory(at: path)
        // Top down: each sync makes the next new name durable in a directory durable already.
        for directory in missing.reversed() { try syncDirectory(at: StoragePath.parent(directory)) }
    }
}

/// Small helpers for `/`-separated paths.
package enum StoragePath {
    /// `directory` and `name` joined with one `/`.
    package static func join(_ directory: String, _ name: String) -> String {
        if directory.isEmpty { return name }
        return directory.hasSuffix("/") ? directory + name : directory + "/" + name
    }

    /// The last component of `path`.
    package static func lastComponent(_ path: String) -> String {
        var trimmed = Substring(path)
        while trimmed.count > 1, trimmed.hasSuffix("/") { trimmed = trimmed.dropLast() }
        guard let slash = trimmed.lastIndex(of: "/") else { return String(trimmed) }
        return String(trimmed[trimmed.index(after: slash)...])
    }

    /// Everything before the last component of `path` (`"."` when there is none).
    package static func parent(_ path: String) -> String {
        var trimmed = Substring(path)
        while trimmed.count > 1, trimmed.hasSuffix("/") { trimmed = trimmed.dropLast() }
        guard let slash = trimmed.lastIndex(of: "/") else { return "." }
        if slash == trimmed.startIndex { return "/" }
        return String(trimmed[..<slash])
    }
}

extension StorageFile {
    /// Reads as ``read(at:count:)`` does: the default for files held in memory, which never wait
    /// for a disk.
    public func readIfCached(at position: Int64, count: Int) throws(StorageError) -> ByteBuffer? {
        try read(at: position, count: count)
    }
}
