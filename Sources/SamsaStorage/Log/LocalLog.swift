import Logging
import NIOCore
import SamsaRecords

/// The segments of one partition, ordered by base offset, and the operations that span them:
/// append with roll, read, lookup by timestamp, truncation and segment deletion.
///
/// Like Kafka's `LocalLog`, it is not thread-safe: ``PartitionLog`` owns the lock.
final class LocalLog {
    let directory: String
    let fileSystem: any FileSystem
    let clock: any StorageClock
    let logger: Logger
    var config: LogConfig
    /// Ordered by base offset; never empty; the last one is active.
    private(set) var segments: [LogSegment]
    /// Every offset below this one is durable on disk.
    var recoveryPoint: Int64
    /// The first offset readers may see (DeleteRecords and retention move it forward).
    var logStartOffset: Int64
    /// Set when a segment file was created or removed since the directory was last synced: the
    /// next flush syncs the directory, since a new segment's name (and so its data) survives a
    /// crash only then.
    var directoryNeedsSync = false

    init(
        directory: String, fileSystem: any FileSystem, clock: any StorageClock, logger: Logger, config: LogConfig,
        segments: [LogSegment], recoveryPoint: Int64, logStartOffset: Int64
    ) {
        precondition(!segments.isEmpty, "a log has at least one segment")
        self.directory = directory
        self.fileSystem = fileSystem
        self.clock = clock
        self.logger = logger
        self.config = config
        self.segments = segments
        self.recoveryPoint = recoveryPoint
        self.logStartOffset = logStartOffset
    }

    var activeSegment: LogSegment { segments[segments.count - 1] }
    var logEndOffset: Int64 { activeSegment.nextOffset }
    var size: Int64 { segments.reduce(0) { $0 + $1.size } }

    /// The index of the segment with the largest base offset ≤ `offset`.
    func segmentIndex(containing offset: Int64) -> Int? {
        var low = 0
        var high = segments.count
        while low < high {
            let middle = (low + high) / 2
            if segments[middle].baseOffset <= offset { low = middle + 1 } else { high = middle }
        }
        return low == 0 ? nil : low - 1
    }

    /// Starts a new active segment at the log end offset (unless the active one is empty there).
    @discardableResult
    func roll() throws(StorageError) -> LogSegment {
        let offset = logEndOffset
        if activeSegment.size == 0, activeSegment.baseOffset == offset {
            activeSegment.rollStartTime = clock.nowMilliseconds()
            return activeSegment
        }
        try activeSegment.onBecomeInactive()
        let segment = try LogSegment.create(
            fileSystem: fileSystem, directory: directory, baseOffset: offset,
            config: config, now: clock.nowMilliseconds())
        segments.append(segment)
        directoryNeedsSync = true
        logger.debug("rolled segment", metadata: ["directory": "\(directory)", "baseOffset": "\(offset)"])
        return segment
    }

    /// Appends batches with assigned offsets, rolling first when the active segment is full.
    func append(_ buffers: [ByteBuffer], batches: [(position: Int, header: RecordBatchHeader)], byteCount: Int) throws(StorageError) {
        guard let last = batches.last?.header else { return }
        if activeSegment.shouldRoll(bytes: byteCount, lastOffset: last.lastOffset, config: config, now: clock.nowMilliseconds()) {
            try roll()
        }
        try activeSegment.append(buffers, batches: batches)
    }

    /// Reads from `offset` up to `maxBytes`, never returning offsets ≥ `upperBound`.
    func read(
        from offset: Int64, maxBytes: Int, upperBound: Int64, minOneBatch: Bool, cachedOnly: Bool
    ) throws(StorageError) -> FileRange? {
        guard offset >= logStartOffset, offset <= logEndOffset else {
            throw StorageError.offsetOutOfRange(offset, logStartOffset: logStartOffset, logEndOffset: logEndOffset)
        }
        guard offset < upperBound, var index = segmentIndex(containing: offset) ?? (segments.isEmpty ? nil : 0) else {
            return nil
        }
        while index < segments.count {
            let segment = segments[index]
            if segment.baseOffset >= upperBound { return nil }
            var maxPosition = segment.size
            if upperBound < segment.nextOffset {
                maxPosition = try segment.translate(upperBound, cachedOnly: cachedOnly)?.position ?? segment.size
            }
            if let range = try segment.read(
                from: offset, maxBytes: maxBytes, maxPosition: maxPosition, minOneBatch: minOneBatch, cachedOnly: cachedOnly)
            {
                return range
            }
            // Nothing at or after `offset` here (a gap left by compaction): try the next segment.
            index += 1
        }
        return nil
    }

    /// The first batch whose max timestamp is ≥ `timestamp`, from `logStartOffset` on.
    func find(timestamp: Int64) throws(StorageError) -> TimestampAndOffset? {
        let start = segmentIndex(containing: logStartOffset) ?? 0
        for segment in segments[start...] where segment.maxTimestamp >= timestamp {
            if let (_, header) = try segment.find(timestamp: timestamp) {
                return TimestampAndOffset(timestamp: header.maxTimestamp, offset: max(header.baseOffset, logStartOffset))
            }
        }
        return nil
    }

    /// Aborted transactions overlapping `[from, upTo)`, from every segment that may hold them.
    func abortedTransactions(from offset: Int64, upTo upperBound: Int64) -> [AbortedTransaction] {
        segments.flatMap { $0.transactionIndex.collect(from: offset, upTo: upperBound) }
    }

    /// Removes everything at or after `offset`.
    func truncate(from offset: Int64) throws(StorageError) {
        guard offset < logEndOffset else { return }
        let first = segments[0]
        let doomed = segments.filter { $0.baseOffset >= offset && $0 !== first }
        if !doomed.isEmpty {
            segments.removeAll { $0.baseOffset >= offset && $0 !== first }
            for segment in doomed { try segment.deleteFiles() }
            directoryNeedsSync = true
        }
        try activeSegment.truncate(from: offset)
        recoveryPoint = min(recoveryPoint, logEndOffset)
        logStartOffset = min(logStartOffset, logEndOffset)
    }

    /// Takes whole segments out of the log (never the active one while it is the only one: a
    /// new active segment is rolled first when all would go) and returns those taken, whose
    /// files the caller deletes (``PartitionLog`` does so without its lock held).
    @discardableResult
    func detach(_ doomed: [LogSegment]) throws(StorageError) -> [LogSegment] {
        guard !doomed.isEmpty else { return [] }
        if doomed.contains(where: { $0 === activeSegment }), activeSegment.size > 0 {
            try roll()
        }
        let active = activeSegment
        let identities = Set(doomed.filter { $0 !== active }.map { ObjectIdentifier($0) })
        guard !identities.isEmpty else { return [] }
        let removed = segments.filter { identities.contains(ObjectIdentifier($0)) }
        segments.removeAll { identities.contains(ObjectIdentifier($0)) }
        directoryNeedsSync = true
        logStartOffset = max(logStartOffset, segments[0].baseOffset)
        return removed
    }

    /// Replaces the segment at `index` in the list (after compaction rewrote its files).
    func replaceSegment(at index: Int, with segment: LogSegment) {
        precondition(segments[index].baseOffset == segment.baseOffset)
        segments[index] = segment
    }

    /// Writes pending index entries of every segment (on close).
    func writeIndexes() throws(StorageError) {
        for segment in segments { try segment.writeIndexes() }
    }
}
