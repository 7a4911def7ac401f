import NIOCore
import SamsaStorage

/// A file system over an ``InMemoryFileSystem`` that lets a test hold file syncs at a gate and
/// wait for writes and syncs to happen, so concurrency tests decide the interleaving instead of
/// the scheduler: no sleeps, no timing. It can also play a disk whose pages are not in memory,
/// for readers that may not wait for one (``missesCache``).
///
/// Only files whose path contains `filter` are counted and gated.
public final class GatedFileSystem: FileSystem {
    /// What the test can wait for.
    public struct Counts: Sendable {
        /// Writes to matching files that completed.
        public var writes = 0
        /// Syncs of matching files that started.
        public var syncs = 0
        /// Syncs waiting at the closed gate right now.
        public var heldSyncs = 0
        public var gateOpen = true
        /// Every directory synced, in order (whatever the filter).
        public var syncedDirectories: [String] = []
        /// Whole-file-system syncs (whatever the filter).
        public var fileSystemSyncs = 0
        /// Files opened and not yet released (whatever the filter).
        public var openFiles = 0
        /// Reads of matching files answered from memory, and those turned away while
        /// ``GatedFileSystem/missesCache`` is set (``StorageFile/readIfCached(at:count:)``).
        public var cachedReads = 0
        public var cacheMisses = 0
        /// See ``GatedFileSystem/missesCache``.
        public var missesCache = false
    }

    public let base = InMemoryFileSystem()
    private let filter: String
    private let counts = ConditionLock(Counts())
    private let onSync: @Sendable (String) -> Void

    /// Creates the file system, counting and gating files whose path contains `filter`;
    /// `onSync` sees the path of each such file's sync, on the syncing thread, before the gate.
    public init(pathContaining filter: String, onSync: @escaping @Sendable (String) -> Void = { _ in }) {
        self.filter = filter
        self.onSync = onSync
    }

    /// From now on, syncs of matching files wait until ``openGate()``.
    public func closeGate() { counts.withLock(notifyingWaiters: true) { $0.gateOpen = false } }

    /// Lets held and later syncs through.
    public func openGate() { counts.withLock(notifyingWaiters: true) { $0.gateOpen = true } }

    /// While true, ``StorageFile/readIfCached(at:count:)`` of matching files finds nothing in
    /// memory, as on a disk whose pages the kernel dropped; plain reads still succeed.
    public var missesCache: Bool {
        get { current.missesCache }
        set { counts.withLock { $0.missesCache = newValue } }
    }

    /// Counts a read that may not wait; false when it misses the cache.
    func readsFromMemory(_ path: String) -> Bool {
        guard matches(path) else { return true }
        return counts.withLock(notifyingWaiters: true) { counts in
            if counts.missesCache {
                counts.cacheMisses += 1
            } else {
                counts.cachedReads += 1
            }
            return !counts.missesCache
        }
    }

    /// Blocks until `predicate` holds for the counts.
    public func waitUntil(_ predicate: (Counts) -> Bool) {
        counts.withLock(waitingUntil: { predicate($0) }) { _ in }
    }

    public var current: Counts { counts.withLock { $0 } }

    public func matches(_ path: String) -> Bool { path.contains(filter) }

    func didWrite(_ path: String) {
        guard matches(path) else { return }
        counts.withLock(notifyingWaiters: true) { $0.writes += 1 }
    }

    /// Counts a sync and, while the gate is closed, holds it there.
    func passGate(_ path: String) {
        guard matches(path) else { return }
        onSync(path)
        counts.withLock(notifyingWaiters: true) { counts in
            counts.syncs += 1
            counts.heldSyncs += 1
        }
        counts.withLock(waitingUntil: { $0.gateOpen }, notifyingWaiters: true) { $0.heldSyncs -= 1 }
    }

    public func openFile(at path: String, create: Bool) throws(StorageError) -> any StorageFile {
        GatedFile(base: try base.openFile(at: path, create: create), fileSystem: self)
    }

    public func exists(at path: String) -> Bool { base.exists(at: path) }
    public func isDirectory(at path: String) -> Bool { base.isDirectory(at: path) }
    public func createDirectory(at path: String) throws(StorageError) { try base.createDirectory(at: path) }
    public func contentsOfDirectory(at path: String) throws(StorageError) -> [String] { try base.contentsOfDirectory(at: path) }
    public func removeFile(at path: String) throws(StorageError) { try base.removeFile(at: path) }
    public func removeDirectory(at path: String) throws(StorageError) { try base.removeDirectory(at: path) }
    public func rename(from source: String, to destination: String) throws(StorageError) { try base.rename(from: source, to: destination) }
    public func syncDirectory(at path: String) throws(StorageError) {
        counts.withLock { $0.syncedDirectories.append(path) }
        try base.syncDirectory(at: path)
    }

    public func syncFileSystem(containing path: String) throws(StorageError) {
        counts.withLock { $0.fileSystemSyncs += 1 }
        try base.syncFileSystem(containing: path)
    }

    func fileOpened() { counts.withLock { $0.openFiles += 1 } }
    func fileReleased() { counts.withLock { $0.openFiles -= 1 } }

    /// Forgets the directories synced so far.
    public func forgetSyncedDirectories() { counts.withLock { $0.syncedDirectories = [] } }
}

/// A handle that reports its writes and syncs to its ``GatedFileSystem``.
final class GatedFile: StorageFile {
    private let base: any StorageFile
    private let fileSystem: GatedFileSystem

    init(base: any StorageFile, fileSystem: GatedFileSystem) {
        self.base = base
        self.fileSystem = fileSystem
        fileSystem.fileOpened()
    }

    deinit { fileSystem.fileReleased() }

    public var path: String { base.path }
    public var fileDescriptor: Int32? { nil }

    public func size() throws(StorageError) -> Int64 { try base.size() }

    public func write(_ buffer: ByteBuffer, at position: Int64) throws(StorageError) {
        try base.write(buffer, at: position)
        fileSystem.didWrite(path)
    }

    public func write(gathering buffers: [ByteBuffer], at position: Int64) throws(StorageError) {
        try base.write(gathering: buffers, at: position)
        fileSystem.didWrite(path)
    }

    public func read(at position: Int64, count: Int) throws(StorageError) -> ByteBuffer { try base.read(at: position, count: count) }

    public func readIfCached(at position: Int64, count: Int) throws(StorageError) -> ByteBuffer? {
        guard fileSystem.readsFromMemory(path) else { return nil }
        return try base.readIfCached(at: position, count: count)
    }

    public func sync() throws(StorageError) {
        fileSystem.passGate(path)
        try base.sync()
    }

    public func truncate(to size: Int64) throws(StorageError) { try base.truncate(to: size) }
}
