#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import NIOConcurrencyHelpers
import NIOCore
import SamsaStorage

/// An ``InMemoryFileSystem`` that injects faults on request: fail the next write or sync, tear
/// the next write after a given number of bytes, or crash (drop everything not yet synced).
///
/// Faults are armed by the test and consumed by the first matching operation on any file whose
/// path contains the armed filter (all files when the filter is empty). A fault throws what the
/// real file system would: ``StorageError/io(_:path:errno:)`` with `EIO`, so the code under test
/// takes the same path as for a failing disk.
public final class FaultyFileSystem: FileSystem, Sendable {
    private struct Faults {
        var failWrites = 0
        var failSyncs = 0
        var tearNextWriteAfter: Int?
        var pathFilter = ""
        var writesSeen = 0
        var syncsSeen = 0
    }

    /// The file system underneath, which holds the data.
    public let base: InMemoryFileSystem
    private let faults = NIOLockedValueBox(Faults())

    /// Creates a faulty file system over `base` (a fresh in-memory one by default).
    public init(base: InMemoryFileSystem = InMemoryFileSystem()) {
        self.base = base
    }

    /// Makes the next `count` writes to matching files throw without writing anything.
    public func failNextWrite(count: Int = 1, pathContaining filter: String = "") {
        faults.withLockedValue {
            $0.failWrites = count
            $0.pathFilter = filter
        }
    }

    /// Makes the next `count` syncs of matching files throw without making anything durable.
    public func failNextSync(count: Int = 1, pathContaining filter: String = "") {
        faults.withLockedValue {
            $0.failSyncs = count
            $0.pathFilter = filter
        }
    }

    /// Makes the next write to a matching file store only its first `bytes` bytes, then throw.
    public func tearNextWrite(after bytes: Int, pathContaining filter: String = "") {
        faults.withLockedValue {
            $0.tearNextWriteAfter = bytes
            $0.pathFilter = filter
        }
    }

    /// Simulates a power loss: everything not synced is dropped, open handles stop working.
    public func crash() {
        faults.withLockedValue { $0 = Faults(writesSeen: $0.writesSeen, syncsSeen: $0.syncsSeen) }
        base.crash()
    }

    /// How many writes and syncs went through this file system (including failed ones).
    public var operationCounts: (writes: Int, syncs: Int) {
        faults.withLockedValue { ($0.writesSeen, $0.syncsSeen) }
    }

    enum WriteFault {
        case none, fail
        case tear(Int)
    }

    func takeWriteFault(path: String) -> WriteFault {
        faults.withLockedValue { faults in
            faults.writesSeen += 1
            guard faults.pathFilter.isEmpty || path.contains(faults.pathFilter) else { return .none }
            if faults.failWrites > 0 {
                faults.failWrites -= 1
                return .fail
            }
            if let bytes = faults.tearNextWriteAfter {
                faults.tearNextWriteAfter = nil
                return .tear(bytes)
            }
            return .none
        }
    }

    func takeSyncFault(path: String) -> Bool {
        faults.withLockedValue { faults in
            faults.syncsSeen += 1
            guard faults.pathFilter.isEmpty || path.contains(faults.pathFilter), faults.failSyncs > 0 else { return false }
            faults.failSyncs -= 1
            return true
        }
    }

    public func openFile(at path: String, create: Bool) throws(StorageError) -> any StorageFile {
        FaultyFile(base: try base.openFile(at: path, create: create), faults: self)
    }

    public func exists(at path: String) -> Bool { base.exists(at: path) }
    public func isDirectory(at path: String) -> Bool { base.isDirectory(at: path) }
    public func createDirectory(at path: String) throws(StorageError) { try base.createDirectory(at: path) }
    public func contentsOfDirectory(at path: String) throws(StorageError) -> [String] { try base.contentsOfDirectory(at: path) }
    public func removeFile(at path: String) throws(StorageError) { try base.removeFile(at: path) }
    public func removeDirectory(at path: String) throws(StorageError) { try base.removeDirectory(at: path) }
    public func rename(from source: String, to destination: String) throws(StorageError) {
        try base.rename(from: source, to: destination)
    }
    public func syncDirectory(at path: String) throws(StorageError) { try base.syncDirectory(at: path) }

    /// Fails like a sync when a sync fault is armed for a file under `path` (or for any file).
    public func syncFileSystem(containing path: String) throws(StorageError) {
        if takeSyncFault(path: path) { throw StorageError.io("syncfs", path: path, errno: EIO) }
        try base.syncFileSystem(containing: path)
    }
}

/// A handle that asks its ``FaultyFileSystem`` before each write and sync.
final class FaultyFile: StorageFile {
    private let base: any StorageFile
    private let faults: FaultyFileSystem

    init(base: any StorageFile, faults: FaultyFileSystem) {
        self.base = base
        self.faults = faults
    }

    var path: String { base.path }
    var fileDescriptor: Int32? { nil }

    func size() throws(StorageError) -> Int64 { try base.size() }

    func write(_ buffer: ByteBuffer, at position: Int64) throws(StorageError) {
        switch faults.takeWriteFault(path: path) {
        case .none:
            try base.write(buffer, at: position)
        case .fail:
            throw StorageError.io("pwrite", path: path, errno: EIO)
        case .tear(let bytes):
            try base.write(buffer.getSlice(at: buffer.readerIndex, length: min(bytes, buffer.readableBytes))!, at: position)
            // The first bytes reached the file, then the disk failed.
            throw StorageError.io("pwrite", path: path, errno: EIO)
        }
    }

    func write(gathering buffers: [ByteBuffer], at position: Int64) throws(StorageError) {
        var joined = ByteBufferAllocator().buffer(capacity: buffers.reduce(0) { $0 + $1.readableBytes })
        for buffer in buffers { joined.writeImmutableBuffer(buffer) }
        try write(joined, at: position)
    }

    func read(at position: Int64, count: Int) throws(StorageError) -> ByteBuffer { try base.read(at: position, count: count) }
    func readIfCached(at position: Int64, count: Int) throws(StorageError) -> ByteBuffer? {
        try base.readIfCached(at: position, count: count)
    }

    func sync() throws(StorageError) {
        if faults.takeSyncFault(path: path) { throw StorageError.io("fdatasync", path: path, errno: EIO) }
        try base.sync()
    }

    func truncate(to size: Int64) throws(StorageError) { try base.truncate(to: size) }
}
