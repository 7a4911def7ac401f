import Logging
import NIOCore
import SamsaRecords

/// Opens a partition directory: cleans up after interrupted operations, opens the segments and
/// recovers what may be damaged.
///
/// After a clean shutdown nothing is scanned beyond the last index entries. Otherwise every
/// segment from the one holding the recovery point on is validated batch by batch (framing,
/// offsets, CRC); the first damaged batch and everything after it are removed, and the indexes
/// of the scanned segments are rebuilt. A segment whose index fails its sanity check is
/// recovered the same way, wherever it is.
struct LogLoader {
    struct Loaded {
        var log: LocalLog
        var transactions: TransactionTracker
        /// Segments scanned with CRC checks, and bytes cut off as damaged.
        var recoveredSegmentCount: Int
        var truncatedByteCount: Int64
        /// True when, with ``Durability/deferred``, the load skipped syncs the caller owes.
        var needsSync: Bool
    }

    /// Who makes what loading changed durable.
    enum Durability {
        /// The loader syncs each recovered segment and the directory itself.
        case synced
        /// The loader skips its syncs; the caller syncs the whole file system once before it
        /// serves any of the logs (``FileSystem/syncFileSystem(containing:)``). Loading
        /// thousands of partitions after a crash then costs one sync instead of five per
        /// partition.
        case deferred
    }

    let directory: String
    let fileSystem: any FileSystem
    let clock: any StorageClock
    let logger: Logger
    let config: LogConfig
    var durability: Durability = .synced

    /// Where recovery starts, from the checkpoint: every segment from `firstSegment` on is
    /// scanned, and batches from `offset` on are replayed into the transaction state.
    private struct RecoveryStart {
        /// The checkpointed recovery point; `Int64.max` after a clean shutdown (nothing to
        /// recover), `Int64.min` without a checkpoint (recover everything).
        var offset: Int64
        var firstSegment: Int
        var isCleanShutdown: Bool { offset == Int64.max }

        /// True when the segment at `index` is at or after the recovery point.
        func covers(_ index: Int) -> Bool { !isCleanShutdown && index >= firstSegment }
    }

    /// What recovery found so far.
    private struct Progress {
        var transactions: TransactionTracker
        var recoveredSegmentCount = 0
        var truncatedByteCount: Int64 = 0
        var deletedSegments = false
    }

    static func load(
        directory: String, fileSystem: any FileSystem, clock: any StorageClock, logger: Logger,
        config: LogConfig, cleanShutdown: Bool, durability: Durability = .synced
    ) throws(StorageError) -> Loaded {
        let loader = LogLoader(
            directory: directory, fileSystem: fileSystem, clock: clock, logger: logger, config: config,
            durability: durability)
        return try loader.load(cleanShutdown: cleanShutdown)
    }

    func load(cleanShutdown: Bool) throws(StorageError) -> Loaded {
        // The partition directory must survive a crash before anything in it can.
        try fileSystem.createDirectoryDurably(at: directory)
        // Listed once: the clean-up, the index check and the final "did names change" all
        // work from this listing (three listings were a fifth of a start with many partitions).
        let namesBefore = try fileSystem.contentsOfDirectory(at: directory)
        let existing = Set(namesBefore)
        let checkpoint = existing.contains(PartitionCheckpoint.fileName) ? readCheckpoint() : nil
        let (baseOffsets, removedLeftovers) = try cleanUpFiles(namesBefore)
        let missingIndexes = segmentsMissingIndexes(baseOffsets, existing: existing)
        var segments = try openSegments(baseOffsets)
        let logStartOffset = max(checkpoint?.logStartOffset ?? 0, segments.first?.baseOffset ?? 0)
        if segments.isEmpty {
            segments.append(
                try LogSegment.create(
                    fileSystem: fileSystem, directory: directory, baseOffset: logStartOffset,
                    config: config, now: clock.nowMilliseconds()))
        }
        // Recovery starts at the checkpointed recovery point, or at the very beginning when the
        // checkpoint is missing; after a clean shutdown it is skipped.
        let recoveryPoint = cleanShutdown && checkpoint != nil ? Int64.max : (checkpoint?.recoveryPoint ?? Int64.min)
        let start = RecoveryStart(offset: recoveryPoint, firstSegment: segments.lastIndex { $0.baseOffset <= recoveryPoint } ?? 0)
        var progress = Progress(transactions: checkpoint?.transactions ?? TransactionTracker())
        try recover(&segments, from: start, missingIndexes: missingIndexes, progress: &progress)
        let log = LocalLog(
            directory: directory, fileSystem: fileSystem, clock: clock, logger: logger, config: config,
            segments: segments, recoveryPoint: 0, logStartOffset: logStartOffset)
        log.logStartOffset = min(max(logStartOffset, segments[0].baseOffset), log.logEndOffset)
        log.recoveryPoint = log.logEndOffset
        progress.transactions.truncate(from: log.logEndOffset)
        // Files created (a first segment, missing indexes) or removed (leftovers, segments after
        // damage) while loading: their names must be durable before the recovery point counts them.
        // After a crash the directory is synced whatever happened, since the crashed process may
        // have left names it had not synced; after a clean shutdown only if loading changed them
        // (one fsync per partition was most of a start with many partitions).
        let createdNames = segments.contains { segment in
            LogFileNames.segmentSuffixes.contains { !existing.contains(LogFileNames.segmentFileName(segment.baseOffset, $0)) }
        }
        let namesChanged = removedLeftovers || progress.deletedSegments || createdNames
        let needsSync = !cleanShutdown || namesChanged || progress.recoveredSegmentCount > 0
        if needsSync, durability == .synced {
            try fileSystem.syncDirectory(at: directory)
        }
        if progress.recoveredSegmentCount > 0 {
            logger.info(
                "recovered log",
                metadata: [
                    "directory": "\(directory)", "segments": "\(progress.recoveredSegmentCount)",
                    "truncatedBytes": "\(progress.truncatedByteCount)", "logEndOffset": "\(log.logEndOffset)",
                ])
        }
        return Loaded(
            log: log, transactions: progress.transactions, recoveredSegmentCount: progress.recoveredSegmentCount,
            truncatedByteCount: progress.truncatedByteCount, needsSync: needsSync && durability == .deferred)
    }

    /// The checkpoint, or nil when there is none or it cannot be read (then the whole log is
    /// recovered).
    private func readCheckpoint() -> PartitionCheckpoint? {
        do throws(StorageError) {
            return try PartitionCheckpoint.read(in: directory, fileSystem: fileSystem)
        } catch {
            logger.warning(
                "ignoring unreadable checkpoint; recovering the whole log",
                metadata: [
                    "file": "\(StoragePath.join(directory, PartitionCheckpoint.fileName))", "error": "\(error)",
                ])
            return nil
        }
    }

    /// The segments whose offset or time index is missing (a crash during compaction's swap):
    /// recovery rebuilds their indexes.
    private func segmentsMissingIndexes(_ baseOffsets: [Int64], existing: Set<String>) -> Set<Int64> {
        Set(
            baseOffsets.filter { baseOffset in
                LogFileNames.requiredIndexSuffixes.contains { !existing.contains(LogFileNames.segmentFileName(baseOffset, $0)) }
            })
    }

    private func openSegments(_ baseOffsets: [Int64]) throws(StorageError) -> [LogSegment] {
        let now = clock.nowMilliseconds()
        var segments: [LogSegment] = []
        for baseOffset in baseOffsets {
            segments.append(
                try LogSegment.open(fileSystem: fileSystem, directory: directory, baseOffset: baseOffset, config: config, now: now))
        }
        return segments
    }

    /// Checks every segment and recovers those that need it; after damage, drops every later
    /// segment.
    private func recover(
        _ segments: inout [LogSegment], from start: RecoveryStart, missingIndexes: Set<Int64>, progress: inout Progress
    ) throws(StorageError) {
        var index = 0
        while index < segments.count {
            let segment = segments[index]
            let damage = try damage(of: segment, at: index, from: start, indexMissing: missingIndexes.contains(segment.baseOffset))
            var needsRecovery = damage != nil || start.covers(index)
            if index > 0, segment.baseOffset < segments[index - 1].nextOffset { needsRecovery = true }
            if needsRecovery, try recover(segment, replaying: start.covers(index) ? start.offset : Int64.max, progress: &progress) {
                // Nothing after a damaged batch can be trusted to follow it without a gap.
                try deleteSegments(after: index, in: &segments, progress: &progress)
            }
            index += 1
        }
    }

    /// Why the segment at `index` must be recovered even though it lies before the recovery
    /// point (a damaged or missing index, a tail that does not parse); nil if it need not be.
    private func damage(
        of segment: LogSegment, at index: Int, from start: RecoveryStart, indexMissing: Bool
    ) throws(StorageError) -> SegmentScanner.Damage? {
        var damage = segment.indexDamage.map { SegmentScanner.Damage(position: 0, message: "\($0)") }
        if damage == nil, segment.size > 0, indexMissing {
            damage = SegmentScanner.Damage(position: 0, message: "index file missing")
        }
        if let damage {
            logger.warning("rebuilding damaged index", metadata: ["file": "\(segment.logFile.path)", "reason": "\(damage.message)"])
            return damage
        }
        guard index < start.firstSegment || start.isCleanShutdown else { return nil }
        damage = try segment.loadEnd()
        if let damage {
            logger.warning(
                "damaged segment before the recovery point",
                metadata: [
                    "file": "\(segment.logFile.path)", "position": "\(damage.position)", "reason": "\(damage.message)",
                ])
        }
        return damage
    }

    /// Scans `segment` with CRC checks, rebuilds its indexes and syncs it. The checkpointed
    /// transaction state holds everything before the recovery point, so only batches from
    /// `replayFrom` on are applied to it again. Returns true when damage was cut off.
    private func recover(_ segment: LogSegment, replaying replayFrom: Int64, progress: inout Progress) throws(StorageError) -> Bool {
        let sizeBefore = segment.size
        var transactions = progress.transactions
        let found = try segment.recover(logger: logger, transactionsFrom: replayFrom) { header, bytes in
            if header.baseOffset >= replayFrom, let aborted = transactions.apply(header, bytes: bytes) {
                segment.appendAbortedTransaction(aborted)
            }
        }
        progress.transactions = transactions
        switch durability {
        case .synced: try segment.flush(includingIndexes: true)
        // The indexes are written now and count as synced: the caller's sync covers them.
        case .deferred: _ = try segment.takeIndexFilesToSync()
        }
        progress.recoveredSegmentCount += 1
        progress.truncatedByteCount += sizeBefore - segment.size
        return found != nil
    }

    private func deleteSegments(after index: Int, in segments: inout [LogSegment], progress: inout Progress) throws(StorageError) {
        guard index + 1 < segments.count else { return }
        for later in segments[(index + 1)...] {
            logger.warning("deleting segment after damaged data", metadata: ["file": "\(later.logFile.path)", "bytes": "\(later.size)"])
            progress.truncatedByteCount += later.size
            try later.deleteFiles()
        }
        progress.deletedSegments = true
        segments.removeLast(segments.count - index - 1)
    }

    /// Removes leftovers of interrupted operations (temporary and half-cleaned files, indexes
    /// without a log) among `names`, the directory's entries, and returns the base offsets of
    /// the segments, in order, and whether anything was removed.
    func cleanUpFiles(_ names: [String]) throws(StorageError) -> (baseOffsets: [Int64], removedAny: Bool) {
        var baseOffsets: [Int64] = []
        var removedAny = false
        for name in names {
            let path = StoragePath.join(directory, name)
            if LogFileNames.leftoverSuffixes.contains(where: { name.hasSuffix($0) }) {
                logger.info("removing leftover file", metadata: ["file": "\(path)"])
                try fileSystem.removeFile(at: path)
                removedAny = true
            } else if let baseOffset = LogFileNames.baseOffset(fromFileName: name, suffix: LogFileNames.logSuffix) {
                baseOffsets.append(baseOffset)
            }
        }
        let known = Set(baseOffsets)
        for name in names {
            for suffix in LogFileNames.indexSuffixes {
                if let baseOffset = LogFileNames.baseOffset(fromFileName: name, suffix: suffix), !known.contains(baseOffset) {
                    try fileSystem.removeFile(at: StoragePath.join(directory, name))
                    removedAny = true
                }
            }
        }
        return (baseOffsets.sorted(), removedAny)
    }
}
