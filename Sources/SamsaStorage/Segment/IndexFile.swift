import NIOCore

/// The file behind an index: fixed-size entries laid end to end, written in batches.
///
/// New entries collect in memory and reach the file on ``writePending()`` (at flush, roll and
/// close); indexes carry no checksum, so after a crash the log's recovery rebuilds any index of
/// a segment it scans, and a sanity check catches a damaged one.
struct IndexFile {
    let file: any StorageFile
    let entrySize: Int
    /// Entries already in the file.
    private(set) var persistedCount: Int
    private var pending: ByteBuffer
    private var pendingCount = 0

    init(file: any StorageFile, entrySize: Int, persistedCount: Int) {
        self.file = file
        self.entrySize = entrySize
        self.persistedCount = persistedCount
        self.pending = ByteBufferAllocator().buffer(capacity: 0)
    }

    var path: String { file.path }

    /// Reads the whole file; throws corrupt if its size is not a multiple of the entry size.
    static func readAll(_ file: any StorageFile, entrySize: Int) throws(StorageError) -> ByteBuffer {
        let size = try file.size()
        guard size % Int64(entrySize) == 0 else {
            throw StorageError.corrupt(
                path: file.path, position: size - size % Int64(entrySize),
                "index size \(size) is not a multiple of \(entrySize)")
        }
        let buffer = try file.read(at: 0, count: Int(size))
        guard buffer.readableBytes == Int(size) else {
            throw StorageError.corrupt(path: file.path, position: Int64(buffer.readableBytes), "short read")
        }
        return buffer
    }

    mutating func append(_ write: (inout ByteBuffer) -> Void) {
        let before = pending.writerIndex
        write(&pending)
        precondition(pending.writerIndex - before == entrySize, "index entry of the wrong size")
        pendingCount += 1
    }

    mutating func writePending() throws(StorageError) {
        guard pendingCount > 0 else { return }
        try file.write(pending, at: Int64(persistedCount * entrySize))
        persistedCount += pendingCount
        pendingCount = 0
        pending.clear()
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
            try file.truncate(to: Int64(count * entrySize))
        }
    }

    mutating func sync() throws(StorageError) {
        try writePending()
        try file.sync()
    }
}
