import NIOCore

/// The sparse time index of one segment (`<base offset>.timeindex`).
///
/// Layout: 12-byte entries, big-endian, timestamps strictly increasing:
/// ```
/// 0  8  timestamp         the largest timestamp seen in the segment so far (ms)
/// 8  4  relative offset   offset of the batch holding that timestamp − base offset
/// ```
/// Entries are added alongside offset-index entries when the max timestamp grew. A lookup finds
/// the largest entry with timestamp ≤ target; every batch before its offset has a smaller
/// max timestamp, so the search for the first batch reaching the target starts there.
struct TimeIndex {
    static let entrySize = 12

    let baseOffset: Int64
    let maxEntries: Int
    private var storage: IndexFile
    private var timestamps: [Int64] = []
    private var relativeOffsets: [UInt32] = []

    init(path: String, fileSystem: any FileSystem, baseOffset: Int64, maxEntries: Int) throws(StorageError) {
        self.baseOffset = baseOffset
        self.maxEntries = maxEntries
        var bytes: ByteBuffer
        (storage, bytes) = try IndexFile.open(at: path, fileSystem: fileSystem, entrySize: Self.entrySize)
        var index = 0
        while let timestamp = bytes.readInteger(endianness: .big, as: Int64.self),
            let relative = bytes.readInteger(endianness: .big, as: UInt32.self)
        {
            if let lastTimestamp = timestamps.last, let lastOffset = relativeOffsets.last,
                timestamp <= lastTimestamp || relative < lastOffset
            {
                throw StorageError.corrupt(path: path, position: Int64(index * Self.entrySize), "time index entries out of order")
            }
            timestamps.append(timestamp)
            relativeOffsets.append(relative)
            index += 1
        }
    }

    var path: String { storage.path }
    var count: Int { timestamps.count }
    var isFull: Bool { timestamps.count >= maxEntries }
    var lastEntry: (timestamp: Int64, offset: Int64)? {
        guard let timestamp = timestamps.last, let relative = relativeOffsets.last else { return nil }
        return (timestamp, baseOffset + Int64(relative))
    }

    /// Adds an entry when `timestamp` is larger than the last one.
    mutating func maybeAppend(timestamp: Int64, offset: Int64) {
        if let last = timestamps.last, timestamp <= last { return }
        guard !isFull else { return }
        let relative = UInt32(offset - baseOffset)
        timestamps.append(timestamp)
        relativeOffsets.append(relative)
        storage.append { buffer in
            buffer.writeInteger(timestamp, endianness: .big)
            buffer.writeInteger(relative, endianness: .big)
        }
    }

    /// The offset to start searching from for the first batch with max timestamp ≥ `timestamp`.
    func lookup(_ timestamp: Int64) -> Int64 {
        var low = 0
        var high = timestamps.count
        while low < high {
            let middle = (low + high) / 2
            if timestamps[middle] <= timestamp { low = middle + 1 } else { high = middle }
        }
        // Entry low-1 has timestamp ≤ target; batches before its offset never reach a larger one,
        // but the batch holding it may reach the target itself (when equal), so start there.
        guard low > 0 else { return baseOffset }
        return baseOffset + Int64(relativeOffsets[low - 1])
    }

    mutating func truncate(from offset: Int64) throws(StorageError) {
        let keep = offset <= baseOffset ? 0 : relativeOffsets.prefix { UInt64($0) < UInt64(offset - baseOffset) }.count
        timestamps.removeLast(timestamps.count - keep)
        relativeOffsets.removeLast(relativeOffsets.count - keep)
        try storage.truncate(toCount: keep)
    }

    mutating func reset() throws(StorageError) { try truncate(from: baseOffset) }
    mutating func writePending() throws(StorageError) { try storage.writePending() }
    mutating func sync() throws(StorageError) { try storage.sync() }
    mutating func takeFileToSync() throws(StorageError) -> (any StorageFile)? { try storage.takeFileToSync() }
}
