import Logging
import NIOCore
import SamsaRecords

/// One segment of a partition log: a `.log` file of record batches (the v2 bytes that travel on
/// the wire) plus its offset, time and transaction indexes, all named by the segment's base
/// offset in 20 digits (`00000000000000000042.log`).
///
/// The base offset is at most every offset in the segment. Not thread-safe: the owning
/// ``PartitionLog`` serialises access (Kafka's `LogSegment` has the same contract).
final class LogSegment {
    let baseOffset: Int64
    let directory: String
    let logFile: any StorageFile
    private let fileSystem: any FileSystem
    private let indexIntervalBytes: Int
    private let maxBatchBytes: Int
    private(set) var offsetIndex: OffsetIndex
    private(set) var timeIndex: TimeIndex
    private(set) var transactionIndex: TransactionIndex
    /// Bytes in the `.log` file.
    private(set) var size: Int64
    /// The offset after the last batch (the base offset when empty).
    private(set) var nextOffset: Int64
    /// The largest batch max timestamp in the segment, -1 when empty.
    private(set) var maxTimestamp: Int64 = -1
    private(set) var offsetOfMaxTimestamp: Int64
    private var bytesSinceLastIndexEntry = 0
    /// When this segment started, for `segment.ms`.
    var rollStartTime: Int64

    /// The path of this segment's file with `suffix` (one of ``LogFileNames/segmentSuffixes``).
    static func path(in directory: String, baseOffset: Int64, suffix: String) -> String {
        StoragePath.join(directory, LogFileNames.segmentFileName(baseOffset, suffix))
    }

    private init(
        fileSystem: any FileSystem, directory: String, baseOffset: Int64, config: LogConfig,
        logFile: any StorageFile, now: Int64
    ) throws(StorageError) {
        self.fileSystem = fileSystem
        self.directory = directory
        self.baseOffset = baseOffset
        self.logFile = logFile
        self.indexIntervalBytes = config.indexIntervalBytes
        self.maxBatchBytes = config.maxBatchBytes
        let logSize = try logFile.size()
        self.size = logSize
        self.nextOffset = baseOffset
        self.offsetOfMaxTimestamp = baseOffset
        self.rollStartTime = now
        let indexPath = { (suffix: String) in LogSegment.path(in: directory, baseOffset: baseOffset, suffix: suffix) }
        let openIndexes = { () throws(StorageError) -> (OffsetIndex, TimeIndex, TransactionIndex) in
            (
                try OffsetIndex(
                    path: indexPath(LogFileNames.offsetIndexSuffix), fileSystem: fileSystem, baseOffset: baseOffset,
                    maxEntries: config.maxIndexEntries, logSize: logSize),
                try TimeIndex(
                    path: indexPath(LogFileNames.timeIndexSuffix), fileSystem: fileSystem, baseOffset: baseOffset,
                    maxEntries: config.maxIndexEntries),
                try TransactionIndex(path: indexPath(LogFileNames.transactionIndexSuffix), fileSystem: fileSystem)
            )
        }
        // A damaged index does not stop the segment from opening: start it empty and let the
        // caller rebuild it by recovering the segment.
        do throws(StorageError) {
            (offsetIndex, timeIndex, transactionIndex) = try openIndexes()
            indexDamage = nil
        } catch {
            indexDamage = error
            for suffix in LogFileNames.indexSuffixes { try IndexFile.empty(at: indexPath(suffix), fileSystem: fileSystem) }
            (offsetIndex, timeIndex, transactionIndex) = try openIndexes()
        }
    }

    /// Set when the indexes failed their sanity check on open; the segment then needs recovery.
    private(set) var indexDamage: StorageError?

    /// Creates an empty segment, replacing any files left with the same name. The new names are
    /// durable only once the caller syncs the directory.
    static func create(
        fileSystem: any FileSystem, directory: String, baseOffset: Int64, config: LogConfig, now: Int64
    ) throws(StorageError) -> LogSegment {
        for suffix in LogFileNames.segmentSuffixes {
            let path = path(in: directory, baseOffset: baseOffset, suffix: suffix)
            if fileSystem.exists(at: path) { try fileSystem.removeFile(at: path) }
        }
        let logFile = try fileSystem.openFile(at: path(in: directory, baseOffset: baseOffset, suffix: LogFileNames.logSuffix), create: true)
        return try LogSegment(
            fileSystem: fileSystem, directory: directory, baseOffset: baseOffset, config: config,
            logFile: logFile, now: now)
    }

    /// Opens an existing segment; ``loadEnd()`` or ``recover(logger:visit:)`` must follow.
    static func open(
        fileSystem: any FileSystem, directory: String, baseOffset: Int64, config: LogConfig, now: Int64
    ) throws(StorageError) -> LogSegment {
        let logFile = try fileSystem.openFile(
            at: path(in: directory, baseOffset: baseOffset, suffix: LogFileNames.logSuffix), create: false)
        return try LogSegment(
            fileSystem: fileSystem, directory: directory, baseOffset: baseOffset, config: config,
            logFile: logFile, now: now)
    }

    var scanner: SegmentScanner { SegmentScanner(file: logFile, baseOffset: baseOffset, maxBatchBytes: maxBatchBytes) }

    /// Finds the segment's end from its indexes and the headers after them, without CRC checks.
    /// Returns the damage found when the tail does not parse (the caller then recovers).
    func loadEnd() throws(StorageError) -> SegmentScanner.Damage? {
        let start = offsetIndex.lastEntry?.position ?? 0
        if let (_, timestampOffset) = timeIndex.lastEntry.map({ ($0.timestamp, $0.offset) }), let last = timeIndex.lastEntry {
            maxTimestamp = last.timestamp
            offsetOfMaxTimestamp = timestampOffset
        }
        var firstTimestamp: Int64?
        let result = try scanner.scan(from: start, verifyChecksums: false) { _, header, _ in
            if firstTimestamp == nil { firstTimestamp = header.maxTimestamp }
            nextOffset = header.nextOffset
            if header.maxTimestamp > maxTimestamp {
                maxTimestamp = header.maxTimestamp
                offsetOfMaxTimestamp = header.baseOffset
            }
        }
        if start == 0, let firstTimestamp, firstTimestamp >= 0 { rollStartTime = min(rollStartTime, firstTimestamp) }
        if result.damage == nil, result.validEnd != size {
            return SegmentScanner.Damage(position: result.validEnd, message: "log size changed during the scan")
        }
        return result.damage
    }

    /// Validates every batch (framing, offsets, CRC), rebuilds the offset and time indexes, and
    /// truncates the file after the last valid batch. `visit` sees each valid batch (for the
    /// transaction state). Transaction-index entries for markers at or after `transactionsFrom`
    /// are dropped (the caller re-adds them); the others are kept. Returns the damage that caused
    /// truncation, if any.
    func recover(
        logger: Logger, transactionsFrom: Int64, visit: (RecordBatchHeader, ByteBuffer) throws(StorageError) -> Void
    ) throws(StorageError) -> SegmentScanner.Damage? {
        try offsetIndex.reset()
        try timeIndex.reset()
        try transactionIndex.truncate(from: transactionsFrom)
        nextOffset = baseOffset
        maxTimestamp = -1
        offsetOfMaxTimestamp = baseOffset
        bytesSinceLastIndexEntry = 0
        let result = try scanner.scan(from: 0, verifyChecksums: true) { position, header, bytes throws(StorageError) in
            try visit(header, bytes)
            record(header, at: position)
        }
        if let damage = result.damage {
            logger.warning(
                "truncating damaged segment",
                metadata: [
                    "file": "\(logFile.path)", "position": "\(damage.position)", "reason": "\(damage.message)",
                    "bytesDropped": "\(size - result.validEnd)",
                ])
            try logFile.truncate(to: result.validEnd)
        }
        size = result.validEnd
        try transactionIndex.truncate(from: nextOffset)
        indexDamage = nil
        return result.damage
    }

    /// Appends validated batches whose offsets were already assigned. `buffers` are written one
    /// after the other; `batches` gives each batch's position relative to the first byte written
    /// and its (patched) header.
    func append(_ buffers: [ByteBuffer], batches: [(position: Int, header: RecordBatchHeader)]) throws(StorageError) {
        precondition(batches.first.map { $0.header.baseOffset >= nextOffset } ?? true, "offsets must grow")
        let total = buffers.reduce(0) { $0 + $1.readableBytes }
        do throws(StorageError) {
            try logFile.write(gathering: buffers, at: size)
        } catch {
            // Leave no partly written batch behind a later, shorter append.
            try? logFile.truncate(to: size)
            throw error
        }
        for (position, header) in batches { record(header, at: size + Int64(position)) }
        size += Int64(total)
    }

    /// Updates the in-memory state and indexes for a batch stored at `position`.
    private func record(_ header: RecordBatchHeader, at position: Int64) {
        if header.maxTimestamp > maxTimestamp {
            maxTimestamp = header.maxTimestamp
            offsetOfMaxTimestamp = header.baseOffset
        }
        if bytesSinceLastIndexEntry > indexIntervalBytes {
            offsetIndex.append(offset: header.lastOffset, position: position)
            timeIndex.maybeAppend(timestamp: maxTimestamp, offset: offsetOfMaxTimestamp)
            bytesSinceLastIndexEntry = 0
        }
        bytesSinceLastIndexEntry += header.totalSize
        nextOffset = header.nextOffset
    }

    func appendAbortedTransaction(_ entry: AbortedTransaction) {
        transactionIndex.append(entry)
    }

    /// The position and header of the first batch whose last offset is ≥ `offset`, from the
    /// index entry below it; nil when the segment holds no such batch. With `cachedOnly`, throws
    /// ``StorageError/notCached(path:)`` rather than wait for the disk.
    func translate(
        _ offset: Int64, from startPosition: Int64 = 0, cachedOnly: Bool = false
    ) throws(StorageError) -> (position: Int64, header: RecordBatchHeader)? {
        var position = max(offsetIndex.lookup(offset).position, startPosition)
        while position < size {
            guard let header = try scanner.header(at: position, cachedOnly: cachedOnly) else { return nil }
            if header.lastOffset >= offset { return (position, header) }
            position += Int64(header.totalSize)
        }
        return nil
    }

    /// Up to `maxBytes` from the batch holding `offset`, not past `maxPosition`; with
    /// `minOneBatch` at least the whole first batch even if larger than `maxBytes`.
    func read(
        from offset: Int64, maxBytes: Int, maxPosition: Int64, minOneBatch: Bool, cachedOnly: Bool
    ) throws(StorageError) -> FileRange? {
        guard let (position, header) = try translate(offset, cachedOnly: cachedOnly), position < maxPosition else { return nil }
        let limit = minOneBatch ? max(maxBytes, header.totalSize) : maxBytes
        let length = Int(min(Int64(limit), maxPosition - position))
        guard length > 0 else { return nil }
        return FileRange(file: logFile, position: position, length: length)
    }

    /// The first batch whose max timestamp is ≥ `timestamp`.
    func find(timestamp: Int64) throws(StorageError) -> (position: Int64, header: RecordBatchHeader)? {
        guard maxTimestamp >= timestamp else { return nil }
        let startOffset = timeIndex.lookup(timestamp)
        var position = offsetIndex.lookup(startOffset).position
        while position < size {
            guard let header = try scanner.header(at: position) else { return nil }
            if header.maxTimestamp >= timestamp { return (position, header) }
            position += Int64(header.totalSize)
        }
        return nil
    }

    /// Removes every batch whose last offset is ≥ `offset`; returns the bytes removed.
    @discardableResult
    func truncate(from offset: Int64) throws(StorageError) -> Int64 {
        guard let (position, header) = try translate(offset) else { return 0 }
        let removed = size - position
        try logFile.truncate(to: position)
        size = position
        try offsetIndex.truncate(from: header.baseOffset)
        try timeIndex.truncate(from: header.baseOffset)
        try transactionIndex.truncate(from: offset)
        // Recompute the end and max timestamp from what is left; the kept index entries stay valid.
        nextOffset = baseOffset
        maxTimestamp = -1
        offsetOfMaxTimestamp = baseOffset
        bytesSinceLastIndexEntry = 0
        _ = try scanner.scan(from: 0, verifyChecksums: false) { _, header, _ in
            if header.maxTimestamp > maxTimestamp {
                maxTimestamp = header.maxTimestamp
                offsetOfMaxTimestamp = header.baseOffset
            }
            nextOffset = header.nextOffset
        }
        return removed
    }

    /// Called when the segment stops being the active one: the time index gets its final entry.
    func onBecomeInactive() throws(StorageError) {
        if maxTimestamp >= 0 { timeIndex.maybeAppend(timestamp: maxTimestamp, offset: offsetOfMaxTimestamp) }
        try writeIndexes()
    }

    func writeIndexes() throws(StorageError) {
        try offsetIndex.writePending()
        try timeIndex.writePending()
        try transactionIndex.writePending()
    }

    /// Makes the log file durable (indexes only when `includingIndexes`).
    func flush(includingIndexes: Bool) throws(StorageError) {
        try logFile.sync()
        if includingIndexes { try syncIndexes() }
    }

    /// Writes the indexes and syncs those that changed since their last sync.
    func syncIndexes() throws(StorageError) {
        for file in try takeIndexFilesToSync() { try file.sync() }
    }

    /// Writes the indexes and returns handles to the index files changed since their last sync,
    /// for a flush done outside the log's lock; they count as synced from here on.
    func takeIndexFilesToSync() throws(StorageError) -> [any StorageFile] {
        [try offsetIndex.takeFileToSync(), try timeIndex.takeFileToSync(), try transactionIndex.takeFileToSync()]
            .compactMap { $0 }
    }

    var isFull: Bool { offsetIndex.isFull || timeIndex.isFull }

    /// True when an append of `bytes` bytes with offsets up to `lastOffset` must go to a new segment.
    func shouldRoll(bytes: Int, lastOffset: Int64, config: LogConfig, now: Int64) -> Bool {
        guard size > 0 else { return false }
        return size + Int64(bytes) > Int64(config.segmentBytes)
            || now - rollStartTime > config.segmentMilliseconds
            || isFull
            || lastOffset - baseOffset > Int64(UInt32.max)
    }

    /// The paths of this segment's files.
    var filePaths: [String] {
        LogFileNames.segmentSuffixes.map { Self.path(in: directory, baseOffset: baseOffset, suffix: $0) }
    }

    /// Removes the segment's files; open handles (of readers) keep working until released.
    func deleteFiles() throws(StorageError) {
        for path in filePaths where fileSystem.exists(at: path) { try fileSystem.removeFile(at: path) }
    }
}
