import Logging

extension PartitionLog {
    /// Blocks until every offset below `offset` is durable (group commit).
    ///
    /// The first waiter that finds no fsync in progress becomes the flusher: it notes the log
    /// end, releases the lock, fsyncs the segments written since the recovery point, and wakes
    /// everyone. Appenders that arrive meanwhile keep appending; they wait for the running
    /// fsync to end and then, if it did not cover them, one of them starts the next, which
    /// covers all of them. A failed fsync fails the log: the page cache can no longer be trusted,
    /// so every later call throws until the log is reopened (and recovered).
    public func waitUntilDurable(_ offset: Int64) throws {
        lock.lock()
        defer { lock.unlock() }
        while true {
            try checkUsable()
            if local.recoveryPoint >= offset { return }
            if flushInProgress {
                lock.wait()
                continue
            }
            try flushLocked()
        }
    }

    /// Makes everything appended so far durable.
    public func flush() throws {
        lock.lock()
        defer { lock.unlock() }
        try checkUsable()
        while flushInProgress { lock.wait() }
        try checkUsable()
        if local.recoveryPoint < local.logEndOffset || local.directoryNeedsSync { try flushLocked() }
    }

    /// Flushes when the `flush.ms` interval of an ``FlushPolicy/interval(messages:milliseconds:)``
    /// policy has passed since the last flush and data is waiting. Returns true if it flushed.
    @discardableResult
    public func flushIfDue() throws -> Bool {
        let due = lock.withLock { () -> Bool in
            guard case .interval(_, let milliseconds?) = local.config.flushPolicy else { return false }
            return local.recoveryPoint < local.logEndOffset && clock.nowMilliseconds() - lastFlushTime >= milliseconds
        }
        if due { try flush() }
        return due
    }

    /// Performs one fsync round. Called with the lock held and no flush in progress; releases
    /// the lock during the fsyncs.
    func flushLocked() throws {
        precondition(!flushInProgress, "one flush at a time")
        let target = local.logEndOffset
        let trackerSnapshot = transactions
        let truncations = truncationCount
        let active = local.activeSegment
        var files: [any StorageFile] = []
        do {
            for segment in local.segments where segment === active || segment.nextOffset > local.recoveryPoint {
                files.append(segment.logFile)
                if segment !== active {
                    // A rolled segment is complete: its indexes must be durable before the
                    // recovery point passes it, because recovery will not rebuild them.
                    try segment.writeIndexes()
                    files.append(contentsOf: segment.indexFiles)
                }
            }
        } catch {
            failure = error
            lock.broadcast()
            throw error
        }
        let syncDirectory = local.directoryNeedsSync
        local.directoryNeedsSync = false
        let recordsCovered = unflushedRecordCount
        flushInProgress = true
        lock.unlock()
        var syncError: (any Error)?
        do {
            for file in files { try file.sync() }
            if syncDirectory { try fileSystem.syncDirectory(at: directory) }
        } catch {
            syncError = error
        }
        lock.lock()
        flushInProgress = false
        defer { lock.broadcast() }
        if let syncError {
            logger.error("fsync failed; the log stops accepting writes", metadata: [
                "directory": "\(directory)", "error": "\(syncError)",
            ])
            failure = syncError
            throw syncError
        }
        if truncations == truncationCount {
            let durable = min(target, local.logEndOffset)
            if durable > local.recoveryPoint {
                local.recoveryPoint = durable
                durableTransactions = trackerSnapshot
            }
        }
        unflushedRecordCount = max(0, unflushedRecordCount - recordsCovered)
        lastFlushTime = clock.nowMilliseconds()
    }
}
