import Logging

extension PartitionLog {
    /// Removes every record at or after `offset` (a follower that diverged from its leader).
    public func truncate(to offset: Int64) throws {
        try lock.withLock {
            try checkUsable()
            while flushInProgress { lock.wait() }
            try local.truncate(from: offset)
            transactions.truncate(from: local.logEndOffset)
            durableTransactions.truncate(from: local.logEndOffset)
            truncationCount += 1
            highWatermarkValue = min(highWatermarkValue, local.logEndOffset)
            logger.info("truncated log", metadata: ["directory": "\(directory)", "logEndOffset": "\(local.logEndOffset)"])
        }
    }

    /// Moves the log start offset forward to `offset` (DeleteRecords): earlier offsets can no
    /// longer be read, and segments wholly below it are deleted. Returns the new log start.
    /// Throws offset-out-of-range beyond the high watermark.
    @discardableResult
    public func deleteRecords(before offset: Int64) throws -> Int64 {
        try lock.withLock {
            try checkUsable()
            guard offset <= highWatermarkValue else {
                throw StorageError.offsetOutOfRange(offset, logStartOffset: local.logStartOffset, logEndOffset: highWatermarkValue)
            }
            guard offset > local.logStartOffset else { return local.logStartOffset }
            local.logStartOffset = offset
            try deleteSegmentsBelowLogStartLocked()
            // The new log start must survive a crash, or deleted records would come back.
            try writeCheckpointLocked()
            return local.logStartOffset
        }
    }

    func deleteSegmentsBelowLogStartLocked() throws {
        let segments = local.segments
        var doomed: [LogSegment] = []
        for (index, segment) in segments.enumerated() {
            let next = index + 1 < segments.count ? segments[index + 1].baseOffset : local.logEndOffset
            guard next <= local.logStartOffset, segment !== local.activeSegment || segment.size > 0 else { break }
            doomed.append(segment)
        }
        let start = local.logStartOffset
        try local.remove(doomed)
        local.logStartOffset = max(start, local.logStartOffset)
    }

    /// Applies `retention.ms` and `retention.bytes` (when the cleanup policy includes delete)
    /// and the log start offset, deleting whole segments from the oldest, only below the high
    /// watermark. Returns how many segments were deleted.
    @discardableResult
    public func applyRetention() throws -> Int {
        try lock.withLock {
            try checkUsable()
            let config = local.config
            let now = clock.nowMilliseconds()
            let segments = local.segments
            var remainingSize = local.size
            var doomed: [LogSegment] = []
            for (index, segment) in segments.enumerated() {
                let next = index + 1 < segments.count ? segments[index + 1].baseOffset : local.logEndOffset
                guard next <= highWatermarkValue, segment.size > 0 else { break }
                var expired = next <= local.logStartOffset
                if config.cleanupPolicy.contains(.delete) {
                    if let retention = config.retentionMilliseconds, segment.maxTimestamp >= 0, now - segment.maxTimestamp > retention {
                        expired = true
                    }
                    if let limit = config.retentionBytes, remainingSize - segment.size >= limit { expired = true }
                }
                guard expired else { break }
                doomed.append(segment)
                remainingSize -= segment.size
            }
            guard !doomed.isEmpty else { return 0 }
            try local.remove(doomed)
            try writeCheckpointLocked()
            return doomed.count
        }
    }

    /// Starts a new segment now.
    public func roll() throws {
        try lock.withLock {
            try checkUsable()
            try local.roll()
        }
    }

    /// Writes `partition.checkpoint`: the log start offset, the recovery point and the
    /// transaction state at that point. Recovery after a crash starts from it.
    public func writeCheckpoint() throws {
        try lock.withLock {
            try checkUsable()
            try writeCheckpointLocked()
        }
    }

    func writeCheckpointLocked() throws {
        let checkpoint = PartitionCheckpoint(logStartOffset: local.logStartOffset, recoveryPoint: local.recoveryPoint,
                                             transactions: durableTransactions)
        try checkpoint.write(in: directory, fileSystem: fileSystem)
    }

    /// Flushes everything, writes the indexes and the checkpoint, and closes the log. Later
    /// calls throw ``StorageError/isClosed``. Readers holding a ``FileRange`` can still read it.
    public func close() throws {
        try flush()
        try lock.withLock {
            guard !isClosed else { return }
            try local.writeIndexes()
            for segment in local.segments { for file in segment.indexFiles { try file.sync() } }
            try writeCheckpointLocked()
            isClosed = true
            lock.broadcast()
        }
    }

    /// Closes the log without flushing, as a crash would leave it (for tests and failure paths).
    public func abandon() {
        lock.withLock {
            isClosed = true
            lock.broadcast()
        }
    }
}
