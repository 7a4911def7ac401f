import Logging

/// A caller of ``PartitionLog/notifyWhenDurable(_:completion:)`` waiting for its offset.
struct DurabilityWaiter {
    let offset: Int64
    let completion: @Sendable (Result<Void, StorageError>) -> Void
}

extension PartitionLog {
    /// One fsync round: what was noted under the lock when it started, for the bookkeeping
    /// when it ends.
    struct FlushRound {
        /// The log end when the round started: everything below is durable once it ends.
        var target: Int64
        var transactions: TransactionTracker
        var truncationCount: Int
        var recordsCovered: Int
        var files: [any StorageFile]
        /// A segment file was created or removed since the directory was last synced.
        var syncsDirectory: Bool
    }

    /// Blocks until every offset below `offset` is durable (group commit).
    ///
    /// The first waiter that finds no fsync in progress becomes the flusher: it notes the log
    /// end, releases the lock, fsyncs the segments written since the recovery point, and wakes
    /// everyone. Appenders that arrive meanwhile keep appending; they wait for the running
    /// fsync to end and then, if it did not cover them, one of them starts the next, which
    /// covers all of them. A failed fsync fails the log: the page cache can no longer be trusted,
    /// so every later call throws until the log is reopened (and recovered).
    public func waitUntilDurable(_ offset: Int64) throws(StorageError) {
        while true {
            let round = try state.withLock(
                waitingUntil: { !$0.flushInProgress || !$0.isUsable || $0.local.recoveryPoint >= offset },
                notifyingWaiters: true
            ) { state throws(StorageError) -> FlushRound? in
                // Durable already is an answer even if the log failed or closed since: the
                // data is on disk, and reporting it lost would make a producer write it again.
                if state.local.recoveryPoint >= offset { return nil }
                try state.checkUsable()
                return try beginFlush(&state)
            }
            guard let round else { return }
            try finishFlush(round)
        }
    }

    /// Calls `completion` once every offset below `offset` is durable, or with the error that
    /// prevents it (a failed fsync, a closed log), without holding a thread while it waits.
    ///
    /// Waiters share fsyncs as ``waitUntilDurable(_:)``'s callers do, but a log has at most one
    /// thread flushing for them: when this returns true, the caller must run
    /// ``flushForWaiters()`` on a thread that may block (it runs fsync rounds until no waiter is
    /// left); when it returns false, a flusher is already running or `completion` has already
    /// been called. `completion` runs on the flushing thread, or on the caller's: keep it short.
    public func notifyWhenDurable(
        _ offset: Int64, completion: @escaping @Sendable (Result<Void, StorageError>) -> Void
    ) -> Bool {
        enum Registration {
            case answered(Result<Void, StorageError>)
            case waiting(startsFlusher: Bool)
        }
        let registration = state.withLock { state -> Registration in
            // Durable already is an answer even on a failed or closed log (see waitUntilDurable).
            if state.local.recoveryPoint >= offset { return .answered(.success(())) }
            do throws(StorageError) {
                try state.checkUsable()
            } catch {
                return .answered(.failure(error))
            }
            state.durabilityWaiters.append(DurabilityWaiter(offset: offset, completion: completion))
            let startsFlusher = !state.waiterFlusherActive
            state.waiterFlusherActive = true
            return .waiting(startsFlusher: startsFlusher)
        }
        switch registration {
        case .answered(let result):
            completion(result)
            return false
        case .waiting(let startsFlusher):
            return startsFlusher
        }
    }

    /// Runs fsync rounds for the waiters of ``notifyWhenDurable(_:completion:)`` until none is
    /// left, answering each as soon as a round covers it. Blocks: run it where blocking is
    /// allowed, and only when ``notifyWhenDurable(_:completion:)`` said to.
    ///
    /// With `offset`, it returns as soon as every offset below `offset` is durable, even if
    /// others still wait: a request that became the flusher does its own fsync in place (no
    /// thread hand-off before or after it) but does not keep flushing for others. Returns true
    /// when waiters are left: the caller must then start ``flushForWaiters(until:)`` without an
    /// offset elsewhere, as the flusher's role passed to it.
    @discardableResult
    public func flushForWaiters(until offset: Int64? = nil) -> Bool {
        while true {
            var durable: [DurabilityWaiter] = []
            var failed: [DurabilityWaiter] = []
            var failure: StorageError?
            var handsOff = false
            let round = state.withLock(waitingUntil: { !$0.flushInProgress }, notifyingWaiters: true) { state -> FlushRound? in
                let recoveryPoint = state.local.recoveryPoint
                durable = state.durabilityWaiters.filter { $0.offset <= recoveryPoint }
                state.durabilityWaiters.removeAll { $0.offset <= recoveryPoint }
                if state.durabilityWaiters.isEmpty {
                    state.waiterFlusherActive = false
                    return nil
                }
                if let offset, recoveryPoint >= offset {
                    handsOff = true
                    return nil
                }
                do throws(StorageError) {
                    try state.checkUsable()
                    return try beginFlush(&state)
                } catch {
                    // The log has failed or closed: nothing more becomes durable here.
                    failure = error
                    swap(&failed, &state.durabilityWaiters)
                    state.waiterFlusherActive = false
                    return nil
                }
            }
            for waiter in durable { waiter.completion(.success(())) }
            if let failure {
                for waiter in failed { waiter.completion(.failure(failure)) }
            }
            guard let round else { return handsOff }
            // A failure is recorded in the state; the next pass answers the waiters with it.
            try? finishFlush(round)
        }
    }

    /// Makes everything appended so far durable.
    public func flush() throws(StorageError) {
        let round = try state.withLock(waitingUntil: { !$0.flushInProgress }, notifyingWaiters: true) {
            state throws(StorageError) -> FlushRound? in
            try state.checkUsable()
            guard state.local.recoveryPoint < state.local.logEndOffset || state.local.directoryNeedsSync else { return nil }
            return try beginFlush(&state)
        }
        if let round { try finishFlush(round) }
    }

    /// Flushes when the `flush.ms` interval of an ``FlushPolicy/interval(messages:milliseconds:)``
    /// policy has passed since the last flush and data is waiting. Returns true if it flushed.
    @discardableResult
    public func flushIfDue() throws(StorageError) -> Bool {
        let due = state.withLock { state -> Bool in
            guard case .interval(_, let milliseconds?) = state.local.config.flushPolicy else { return false }
            return state.local.recoveryPoint < state.local.logEndOffset && clock.nowMilliseconds() - state.lastFlushTime >= milliseconds
        }
        if due { try flush() }
        return due
    }

    /// Starts a flush round with the lock held and no flush in progress: writes the indexes of
    /// rolled segments, notes what to sync, and marks the flush in progress. A failure here
    /// fails the log.
    private func beginFlush(_ state: inout State) throws(StorageError) -> FlushRound {
        precondition(!state.flushInProgress, "one flush at a time")
        let active = state.local.activeSegment
        var files: [any StorageFile] = []
        do throws(StorageError) {
            for segment in state.local.segments where segment === active || segment.nextOffset > state.local.recoveryPoint {
                files.append(segment.logFile)
                if segment !== active {
                    // A rolled segment is complete: its indexes must be durable before the
                    // recovery point passes it, because recovery will not rebuild them.
                    files.append(contentsOf: try segment.takeIndexFilesToSync())
                }
            }
        } catch {
            state.failure = error
            throw error
        }
        let round = FlushRound(
            target: state.local.logEndOffset, transactions: state.transactions, truncationCount: state.truncationCount,
            recordsCovered: state.unflushedRecordCount, files: files, syncsDirectory: state.local.directoryNeedsSync)
        state.local.directoryNeedsSync = false
        state.flushInProgress = true
        return round
    }

    /// Runs the fsyncs of `round` without the lock, then, with it, moves the recovery point
    /// (unless a truncation ran meanwhile) and wakes the waiters.
    private func finishFlush(_ round: FlushRound) throws(StorageError) {
        var syncError: StorageError?
        do throws(StorageError) {
            for file in round.files { try file.sync() }
            // New segment files are durable only once their names are: a rolled segment's data
            // is lost in a crash, synced or not, until the directory is synced too.
            if round.syncsDirectory { try fileSystem.syncDirectory(at: directory) }
        } catch {
            syncError = error
        }
        try state.withLock(notifyingWaiters: true) { state throws(StorageError) in
            state.flushInProgress = false
            if let syncError {
                logger.error(
                    "fsync failed; the log stops accepting writes",
                    metadata: [
                        "directory": "\(directory)", "error": "\(syncError)",
                    ])
                state.failure = syncError
                throw syncError
            }
            if round.truncationCount == state.truncationCount {
                let durable = min(round.target, state.local.logEndOffset)
                if durable > state.local.recoveryPoint {
                    state.local.recoveryPoint = durable
                    state.durableTransactions = round.transactions
                }
            }
            state.unflushedRecordCount = max(0, state.unflushedRecordCount - round.recordsCovered)
            state.lastFlushTime = clock.nowMilliseconds()
        }
    }
}
