import NIOCore

/// The file behind an index: fixed-size entries laid end to end, written in batches.
///
/// An index lives in memory; its file is read once when the segment opens and is opened again
/// only to write new entries, truncate or sync, and closed right after. So an idle partition
/// holds one descriptor (its log) instead of four, which is what lets a broker keep 10,000
/// partitions under a 20,000 open-files limit.
///
/// New entries collect in memory and reach the file on ``writePending()`` (at flush, roll and
/// close); indexes carry no checksum, so after a crash the log's recovery rebuilds any index of
/// a segment it scans, and a sanity check catches a damaged one.
struct IndexFile {
    let path: String
    let entrySize: Int
    private let fileSystem: any FileSystem
    /// Entries already in the file.
    private(set) var persistedCount: Int
    private var pending: ByteBuffer
    private var pendingCount = 0
    /// True when the file was written or truncated since its last sync.
    private(set) var needsSync = false

    /// Opens the index file at `path`, creating it empty when missing, reads all its entries
    /// and closes it. Throws corrupt if its size is not a multiple of `entrySize`.
    static func open(
        at path: String, fileSystem: any FileSystem, entrySize: Int
    ) throws(StorageError) -> (index: IndexFile, entries: ByteBuffer) {
        let file = try fileSystem.openFile(at: path, create: true)
        let size = try file.size()
        guard size % Int64(entrySize) == 0 else {
            throw StorageError.corrupt(
                path: path, position: size - size % Int64(entrySize),
                "index size \(size) is not a multiple of \(entrySize)")
        }
        let entries = size == 0 ? ByteBuffer() : try file.read(at: 0, count: Int(size))
        guard entries.readableBytes == Int(size) else {
            throw StorageError.corrupt(path: path, position: Int64(entries.readableBytes), "short read")
        }
        let index = IndexFile(path: path, entrySize: entrySize, fileSystem: fileSystem, persistedCount: Int(size) / entrySize)
        return (index, entries)
    }

    /// Empties the index file at `path` (creating it when missing), for an index found damaged.
    static func empty(at path: String, fileSystem: any FileSystem) throws(StorageError) {
        try fileSystem.openFile(at: path, create: true).truncate(to: 0)
    }

    private init(path: String, entrySize: Int, fileSystem: any FileSystem, persistedCount: Int) {
        self.path = path
        self.entrySize = entrySize
        self.fileSystem = fileSystem
        self.persistedCount = persistedCount
        self.pending = ByteBuffer()
    }

    private func openFile() throws(StorageError) -> any StorageFile {
        try fileSystem.openFile(at: path, create: false)
    }

    mutating func append(_ write: (inout ByteBuffer) -> Void) {
        let before = pending.writerIndex
        write(&pending)
        precondition(pending.writerIndex - before == entrySize, "index entry of the wrong size")
        pendingCount += 1
    }

    mutating func writePending() throws(StorageError) {
        guard pendingCount > 0 else { return }
        try openFile().write(pending, at: Int64(persistedCount * entrySize))
        persistedCount += pendingCount
        pendingCount = 0
        pending.clear()
        needsSync = true
    }

    /// Drops every entry from `count` on, in memory and in the file.
    mutating func truncate(toCount count: Int) throws(StorageError) {
        if count >= persistedCount {
            let keep = count - persistedCount
            precondition(keep <= pendingCount)
            pending.moveWriterIndex(to: pending.readerIndex + keep * entrySize)
            pendingCount = keep
        } else {
            pending.clear()
            pendingCount = 0
            persistedCount = count
            try openFile().truncate(to: Int64(count * entrySize))
            needsSync = true
        }
    }

    /// Writes the pending entries and returns a handle to sync when the file changed since its
    /// last sync (nil when it did not); the index then counts as synced, so the caller must
    /// sync the handle (a failed sync fails the whole log).
    mutating func takeFileToSync() throws(StorageError) -> (any StorageFile)? {
        try writePending()
        guard needsSync else { return nil }
        let file = try openFile()
        needsSync = false
        return file
    }

    /// Writes the pending entries and syncs the file if it changed since its last sync.
    mutating func sync() throws(StorageError) {
        try takeFileToSync()?.sync()
    }
}
