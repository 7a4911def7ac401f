import NIOCore

/// The sparse offset index of one segment (`<base offset>.index`).
///
/// Layout: 8-byte entries, big-endian, in increasing order of both fields:
/// ```
/// 0  4  relative offset   (last offset of an indexed batch) − segment base offset
/// 4  4  position          byte position of that batch in the .log file
/// ```
/// An entry is added when more than `index.interval.bytes` were appended since the last one.
/// A lookup binary-searches the largest entry whose offset is at most the target; the reader
/// then scans batch headers forward from that position. Kept in memory, written on flush.
struct OffsetIndex {
    static let entrySize = 8

    let baseOffset: Int64
    let maxEntries: Int
    private var storage: IndexFile
    private var relativeOffsets: [UInt32] = []
    private var positions: [UInt32] = []

    /// Opens (or creates) the index and sanity-checks it against the log size.
    init(path: String, fileSystem: any FileSystem, baseOffset: Int64, maxEntries: Int, logSize: Int64) throws(StorageError) {
        self.baseOffset = baseOffset
        self.maxEntries = maxEntries
        var bytes: ByteBuffer
        (storage, bytes) = try IndexFile.open(at: path, fileSystem: fileSystem, entrySize: Self.entrySize)
        var index = 0
        while let relative = bytes.readInteger(endianness: .big, as: UInt32.self),
            let position = bytes.readInteger(endianness: .big, as: UInt32.self)
        {
            if let lastOffset = relativeOffsets.last, let lastPosition = positions.last,
                relative <= lastOffset || position <= lastPosition
            {
                throw StorageError.corrupt(path: path, position: Int64(index * Self.entrySize), "index entries out of order")
            }
            guard Int64(position) < max(logSize, 1) else {
                throw StorageError.corrupt(
                    path: path, position: Int64(index * Self.entrySize),
                    "position \(position) beyond the log size \(logSize)")
            }
            relativeOffsets.append(relative)
            positions.append(position)
            index += 1
        }
    }

    var path: String { storage.path }
    var count: Int { positions.count }
    var isFull: Bool { positions.count >= maxEntries }
    var lastEntry: (offset: Int64, position: Int64)? {
        guard let relative = relativeOffsets.last, let position = positions.last else { return nil }
        return (baseOffset + Int64(relative), Int64(position))
    }

    /// Adds an entry; offsets and positions must grow.
    mutating func append(offset: Int64, position: Int64) {
        precondition(!isFull, "offset index is full")
        let relative = UInt32(offset - baseOffset)
        if let last = relativeOffsets.last, relative <= last { return }
        precondition(positions.last.map { UInt32(position) > $0 } ?? true, "index positions must grow")
        relativeOffsets.append(relative)
        positions.append(UInt32(position))
        storage.append { buffer in
            buffer.writeInteger(relative, endianness: .big)
            buffer.writeInteger(UInt32(position), endianness: .big)
        }
    }

    /// The largest entry with offset ≤ `offset`, or the segment start.
    func lookup(_ offset: Int64) -> (offset: Int64, position: Int64) {
        guard offset > baseOffset else { return (baseOffset, 0) }
        let target = UInt64(offset - baseOffset)
        var low = 0
        var high = relativeOffsets.count
        while low < high {
            let middle = (low + high) / 2
            if UInt64(relativeOffsets[middle]) <= target { low = middle + 1 } else { high = middle }
        }
        guard low > 0 else { return (baseOffset, 0) }
        return (baseOffset + Int64(relativeOffsets[low - 1]), Int64(positions[low - 1]))
    }

    /// Removes every entry for an offset ≥ `offset`.
    mutating func truncate(from offset: Int64) throws(StorageError) {
        let keep = offset <= baseOffset ? 0 : relativeOffsets.prefix { UInt64($0) < UInt64(offset - baseOffset) }.count
        relativeOffsets.removeLast(relativeOffsets.count - keep)
        positions.removeLast(positions.count - keep)
        try storage.truncate(toCount: keep)
    }

    mutating func reset() throws(StorageError) { try truncate(from: baseOffset) }
    mutating func writePending() throws(StorageError) { try storage.writePending() }
    mutating func sync() throws(StorageError) { try storage.sync() }
    mutating func takeFileToSync() throws(StorageError) -> (any StorageFile)? { try storage.takeFileToSync() }
}
