import Logging
import NIOCore

/// Opens a partition directory: cleans up after interrupted operations, opens the segments and
/// recovers what may be damaged.
///
/// After a clean shutdown nothing is scanned beyond the last index entries. Otherwise every
/// segment from the one holding the recovery point on is validated batch by batch (framing,
/// offsets, CRC); the first damaged batch and everything after it are removed, and the indexes
/// of the scanned segments are rebuilt. A segment whose index fails its sanity check is
/// recovered the same way, wherever it is.
enum LogLoader {
    struct Loaded {
        var log: LocalLog
        var transactions: TransactionTracker
        /// Segments scanned with CRC checks, and bytes cut off as damaged.
        var recoveredSegmentCount: Int
        var truncatedByteCount: Int64
    }

    static func load(
        directory: String, fileSystem: any FileSystem, clock: any StorageClock, logger: Logger,
        config: LogConfig, cleanShutdown: Bool
    ) throws -> Loaded {
        try fileSystem.createDirectory(at: directory)
        let checkpoint: PartitionCheckpoint?
        do {
            checkpoint = try PartitionCheckpoint.read(in: directory, fileSystem: fileSystem)
        } catch {
            logger.warning("ignoring unreadable checkpoint; recovering the whole log", metadata: [
                "file": "\(StoragePath.join(directory, PartitionCheckpoint.fileName))", "error": "\(error)",
            ])
            checkpoint = nil
        }
        let baseOffsets = try cleanUpFiles(in: directory, fileSystem: fileSystem, logger: logger)
        let now = clock.nowMilliseconds()
        var segments: [LogSegment] = []
        // A segment whose offset or time index is missing (a crash during compaction's swap)
        // gets its indexes rebuilt by recovery.
        let missingIndexes = Set(baseOffsets.filter { baseOffset in
            [".index", ".timeindex"].contains { !fileSystem.exists(at: StoragePath.join(directory, LogSegment.fileName(baseOffset, $0))) }
        })
        for baseOffset in baseOffsets {
            segments.append(try LogSegment.open(fileSystem: fileSystem, directory: directory, baseOffset: baseOffset, config: config, now: now))
        }
        let logStartOffset = max(checkpoint?.logStartOffset ?? 0, segments.first?.baseOffset ?? 0)
        if segments.isEmpty {
            segments.append(try LogSegment.create(fileSystem: fileSystem, directory: directory, baseOffset: logStartOffset,
                                                  config: config, now: now))
        }
        // Recovery starts at the checkpointed recovery point, or at the very beginning when the
        // checkpoint is missing; after a clean shutdown it is skipped.
        let recoveryPoint = cleanShutdown && checkpoint != nil ? Int64.max : (checkpoint?.recoveryPoint ?? Int64.min)
        var transactions = checkpoint?.transactions ?? TransactionTracker()
        let recoveryStart = segments.lastIndex { $0.baseOffset <= recoveryPoint } ?? 0
        var recovered = 0
        var truncated: Int64 = 0
        var index = 0
        while index < segments.count {
            let segment = segments[index]
            var damage = segment.indexDamage.map { SegmentScanner.Damage(position: 0, message: "\($0)") }
            if damage == nil, segment.size > 0, missingIndexes.contains(segment.baseOffset) {
                damage = SegmentScanner.Damage(position: 0, message: "index file missing")
            }
            if let damage {
                logger.warning("rebuilding damaged index", metadata: ["file": "\(segment.logFile.path)", "reason": "\(damage.message)"])
            }
            if damage == nil, index < recoveryStart || recoveryPoint == Int64.max {
                damage = try segment.loadEnd()
                if let damage {
                    logger.warning("damaged segment before the recovery point", metadata: [
                        "file": "\(segment.logFile.path)", "position": "\(damage.position)", "reason": "\(damage.message)",
                    ])
                }
            }
            var needsRecovery = damage != nil || (index >= recoveryStart && recoveryPoint != Int64.max)
            if let previous = index > 0 ? segments[index - 1] : nil, segment.baseOffset < previous.nextOffset {
                needsRecovery = true
            }
            if needsRecovery {
                let sizeBefore = segment.size
                // The checkpointed transaction state holds everything before the recovery point,
                // so only batches from there on are applied to it again.
                let replayFrom = index >= recoveryStart && recoveryPoint != Int64.max ? recoveryPoint : Int64.max
                let found = try segment.recover(logger: logger, transactionsFrom: replayFrom) { header, bytes in
                    if header.baseOffset >= replayFrom, let aborted = transactions.apply(header, bytes: bytes) {
                        segment.appendAbortedTransaction(aborted)
                    }
                }
                try segment.writeIndexes()
                try segment.flush(includingIndexes: true)
                recovered += 1
                truncated += sizeBefore - segment.size
                if found != nil, index + 1 < segments.count {
                    // Nothing after a damaged batch can be trusted to follow it without a gap.
                    for later in segments[(index + 1)...] {
                        logger.warning("deleting segment after damaged data", metadata: ["file": "\(later.logFile.path)", "bytes": "\(later.size)"])
                        truncated += later.size
                        try later.deleteFiles()
                    }
                    segments.removeLast(segments.count - index - 1)
                }
            }
            index += 1
        }
        let log = LocalLog(directory: directory, fileSystem: fileSystem, clock: clock, logger: logger, config: config,
                           segments: segments, recoveryPoint: 0, logStartOffset: logStartOffset)
        log.logStartOffset = min(max(logStartOffset, segments[0].baseOffset), log.logEndOffset)
        log.recoveryPoint = log.logEndOffset
        transactions.truncate(from: log.logEndOffset)
        try fileSystem.syncDirectory(at: directory)
        if recovered > 0 {
            logger.info("recovered log", metadata: [
                "directory": "\(directory)", "segments": "\(recovered)", "truncatedBytes": "\(truncated)",
                "logEndOffset": "\(log.logEndOffset)",
            ])
        }
        return Loaded(log: log, transactions: transactions, recoveredSegmentCount: recovered, truncatedByteCount: truncated)
    }

    /// Removes leftovers of interrupted operations (temporary and half-cleaned files, indexes
    /// without a log) and returns the base offsets of the segments, in order.
    static func cleanUpFiles(in directory: String, fileSystem: any FileSystem, logger: Logger) throws -> [Int64] {
        let names = try fileSystem.contentsOfDirectory(at: directory)
        var baseOffsets: [Int64] = []
        for name in names {
            let path = StoragePath.join(directory, name)
            if name.hasSuffix(".tmp") || name.hasSuffix(".cleaned") || name.hasSuffix(".deleted") {
                logger.info("removing leftover file", metadata: ["file": "\(path)"])
                try fileSystem.removeFile(at: path)
            } else if let baseOffset = LogSegment.baseOffset(fromFileName: name, suffix: ".log") {
                baseOffsets.append(baseOffset)
            }
        }
        let known = Set(baseOffsets)
        for name in names {
            for suffix in [".index", ".timeindex", ".txnindex"] {
                if let baseOffset = LogSegment.baseOffset(fromFileName: name, suffix: suffix), !known.contains(baseOffset) {
                    try fileSystem.removeFile(at: StoragePath.join(directory, name))
                }
            }
        }
        return baseOffsets.sorted()
    }
}
