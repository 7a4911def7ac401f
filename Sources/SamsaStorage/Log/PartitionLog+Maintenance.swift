import Logging

extension PartitionLog {
    /// Removes every record at or after `offset` (a follower that diverged from its leader).
    public func truncate(to offset: Int64) throws(StorageError) {
        try state.withLock(waitingUntil: { !$0.flushInProgress }) { state throws(StorageError) in
            try state.checkUsable()
            try state.local.truncate(from: offset)
            state.transactions.truncate(from: state.local.logEndOffset)
            state.durableTransactions.truncate(from: state.local.logEndOffset)
            state.truncationCount += 1
            state.highWatermark = min(state.highWatermark, state.local.logEndOffset)
            logger.info("truncated log", metadata: ["directory": "\(directory)", "logEndOffset": "\(state.local.logEndOffset)"])
        }
    }

    /// Moves the log start offset forward to `offset` (DeleteRecords): earlier offsets can no
    /// longer be read, and segments wholly below it are deleted. Returns the new log start.
    /// Throws offset-out-of-range beyond the high watermark.
    @discardableResult
    public func deleteRecords(before offset: Int64) throws(StorageError) -> Int64 {
        // The new log start must survive a crash, or deleted records would come back.
        let change = try checkpointing { state throws(StorageError) -> [LogSegment]? in
            guard offset <= state.highWatermark else {
                throw StorageError.offsetOutOfRange(offset, logStartOffset: state.local.logStartOffset, logEndOffset: state.highWatermark)
            }
            guard offset > state.local.logStartOffset else { return nil }
            state.local.logStartOffset = offset
            return segmentsBelowLogStart(state.local)
        }
        return change?.checkpoint.logStartOffset ?? logStartOffset
    }

    /// The segments wholly below the log start offset (not an empty active segment).
    private func segmentsBelowLogStart(_ local: LocalLog) -> [LogSegment] {
        let segments = local.segments
        var doomed: [LogSegment] = []
        for (index, segment) in segments.enumerated() {
            let next = index + 1 < segments.count ? segments[index + 1].baseOffset : local.logEndOffset
            guard next <= local.logStartOffset, segment !== local.activeSegment || segment.size > 0 else { break }
            doomed.append(segment)
        }
        return doomed
    }

    /// Applies `retention.ms` and `retention.bytes` (when the cleanup policy includes delete)
    /// and the log start offset, deleting whole segments from the oldest, only below the high
    /// watermark. Returns how many segments were deleted.
    @discardableResult
    public func applyRetention() throws(StorageError) -> Int {
        let change = try checkpointing { state throws(StorageError) -> [LogSegment]? in
            let doomed = expiredSegments(state)
            return doomed.isEmpty ? nil : doomed
        }
        return change?.removed.count ?? 0
    }

    /// Runs `change` with the log's lock held; unless it returns nil, takes the segments it
    /// returns out of the log and notes the checkpoint of the state it left. Then, with the lock
    /// released, deletes those segments' files and writes the checkpoint (whose directory sync
    /// also makes the removals durable), so appends and reads never wait for the file system;
    /// readers still holding a range of a removed segment keep reading it through their open
    /// file. Checkpoint writes are serialised on their own lock, taken first, so a later state
    /// is never overwritten by an earlier one.
    private func checkpointing(
        after change: (inout State) throws(StorageError) -> [LogSegment]?
    ) throws(StorageError) -> (removed: [LogSegment], checkpoint: PartitionCheckpoint)? {
        try checkpointWrites.withLock { _ throws(StorageError) in
            let taken = try state.withLock { state throws(StorageError) -> (removed: [LogSegment], checkpoint: PartitionCheckpoint)? in
                try state.checkUsable()
                guard let doomed = try change(&state) else { return nil }
                return (try state.local.detach(doomed), Self.checkpoint(of: state))
            }
            guard let taken else { return nil }
            for segment in taken.removed {
                try segment.deleteFiles()
                logger.info(
                    "deleted segment",
                    metadata: [
                        "file": "\(segment.logFile.path)", "baseOffset": "\(segment.baseOffset)", "bytes": "\(segment.size)",
                    ])
            }
            try taken.checkpoint.write(in: directory, fileSystem: fileSystem)
            return taken
        }
    }

    /// The oldest segments that retention deletes now, in order.
    private func expiredSegments(_ state: State) -> [LogSegment] {
        let local = state.local
        let config = local.config
        let now = clock.nowMilliseconds()
        let segments = local.segments
        var remainingSize = local.size
        var doomed: [LogSegment] = []
        for (index, segment) in segments.enumerated() {
            let next = index + 1 < segments.count ? segments[index + 1].baseOffset : local.logEndOffset
            guard next <= state.highWatermark, segment.size > 0 else { break }
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
        return doomed
    }

    /// Starts a new segment now.
    public func roll() throws(StorageError) {
        try state.withLock { state throws(StorageError) in
            try state.checkUsable()
            try state.local.roll()
        }
    }

    /// Writes `partition.checkpoint`: the log start offset, the recovery point and the
    /// transaction state at that point. Recovery after a crash starts from it.
    /// Written with its fsyncs after the log's lock is released (see ``checkpointing(after:)``).
    public func writeCheckpoint() throws(StorageError) {
        _ = try checkpointing { _ in [] }
    }

    /// What the checkpoint of `state` says (taken with the log's lock held).
    static func checkpoint(of state: State) -> PartitionCheckpoint {
        PartitionCheckpoint(
            logStartOffset: state.local.logStartOffset, recoveryPoint: state.local.recoveryPoint,
            transactions: state.durableTransactions)
    }

    /// Flushes everything, writes the indexes and the checkpoint, and closes the log. Later
    /// calls throw ``StorageError/isClosed``. Readers holding a ``FileRange`` can still read it.
    public func close() throws(StorageError) {
        try flush()
        try checkpointWrites.withLock { _ throws(StorageError) in
            try state.withLock(notifyingWaiters: true) { state throws(StorageError) in
                guard !state.isClosed else { return }
                for segment in state.local.segments { try segment.syncIndexes() }
                try Self.checkpoint(of: state).write(in: directory, fileSystem: fileSystem)
                state.isClosed = true
            }
        }
    }

    /// Closes the log without flushing, as a crash would leave it (for tests and failure paths).
    package func abandon() {
        state.withLock(notifyingWaiters: true) { $0.isClosed = true }
    }
}
