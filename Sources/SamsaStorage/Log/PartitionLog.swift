// Lock order in the storage layer (a thread holding one lock may only take those below it):
//   1. the broker's producer-state lock (`withTable(for:log:)`), held around an append so the
//      sequence check and the append are one step;
//   2. a partition log's checkpoint-write lock (`PartitionLog.checkpointWrites`), held while a
//      checkpoint is taken and written;
//   3. a partition log's lock (`PartitionLog.state`), never held across a call into the
//      broker or another log; fsyncs of a group commit and of checkpoints run without it;
//   4. the locks inside a file system (InMemoryFileSystem's tree, a file's contents).
// `LogManager`'s dictionary lock is a leaf of its own: it is held only to look up, insert or
// remove entries, never while a log is opened, flushed, closed or a partition lock is taken.

import Logging
import NIOCore
import SamsaBinary
import SamsaRecords

/// The log of one topic partition: the layer that owns thread safety, assigns offsets and
/// tracks the high watermark, last stable offset and durability (Kafka's `UnifiedLog`).
///
/// Every method is synchronous and may block on disk I/O, so callers on an event loop hand
/// them to a thread pool. Appends serialise on one lock; an append that asks for durability
/// waits, without the lock, for an fsync that covers it, and concurrent appenders share one
/// fsync (group commit, see ``waitUntilDurable(_:)``).
///
/// Thread safety: all mutable state is in ``State``, reachable only through `state`'s lock (a
/// mutex with a condition variable).
public final class PartitionLog: Sendable {
    /// The partition directory (`<data dir>/<topic>-<partition>`).
    public let directory: String
    let fileSystem: any FileSystem
    let clock: any StorageClock
    let logger: Logger
    /// Advance the high watermark to the log end on every append (a single replica).
    let highWatermarkFollowsLogEnd: Bool
    let state: ConditionLock<State>
    /// Serialises checkpoint writes, which run outside `state`'s lock; taken before it.
    let checkpointWrites = ConditionLock(())

    /// The mutable state of a log.
    struct State {
        var local: LocalLog
        var transactions: TransactionTracker
        /// The transaction state as of the recovery point, for the checkpoint.
        var durableTransactions: TransactionTracker
        var highWatermark: Int64
        var isClosed = false
        /// Set by a failed fsync or index write: the log refuses everything until reopened.
        var failure: StorageError?
        var flushInProgress = false
        /// Bumped by every truncation, so a flush that ran across one does not move the
        /// recovery point past what it synced.
        var truncationCount = 0
        var unflushedRecordCount = 0
        var lastFlushTime: Int64
        /// Callers of ``PartitionLog/notifyWhenDurable(_:completion:)`` not answered yet.
        var durabilityWaiters: [DurabilityWaiter] = []
        /// A ``PartitionLog/flushForWaiters()`` is running or was handed to a caller to run.
        var waiterFlusherActive = false

        var isUsable: Bool { !isClosed && failure == nil }

        func checkUsable() throws(StorageError) {
            if isClosed { throw StorageError.closed(path: local.directory) }
            if let failure { throw failure }
        }

        var lastStableOffset: Int64 {
            min(transactions.firstUnstableOffset ?? highWatermark, highWatermark)
        }
    }

    /// Opens (creating if needed) the log in `directory`, recovering it unless `cleanShutdown`.
    ///
    /// - Parameters:
    ///   - highWatermarkFollowsLogEnd: advance the high watermark to the log end on every append
    ///     (a single replica); otherwise the broker moves it with ``updateHighWatermark(_:)``.
    public static func open(
        directory: String, config: LogConfig = LogConfig(), fileSystem: any FileSystem, clock: any StorageClock,
        logger: Logger = Logger(label: "samsa.storage"), cleanShutdown: Bool = false, highWatermarkFollowsLogEnd: Bool = true
    ) throws(StorageError) -> PartitionLog {
        try open(
            directory: directory, config: config, fileSystem: fileSystem, clock: clock, logger: logger,
            cleanShutdown: cleanShutdown, highWatermarkFollowsLogEnd: highWatermarkFollowsLogEnd, durability: .synced)
    }

    /// Opens the log with the loader's syncs left to the caller when `durability` is
    /// ``LogLoader/Durability/deferred``: ``needsSync`` then says whether the caller must sync
    /// the file system before serving the log.
    static func open(
        directory: String, config: LogConfig, fileSystem: any FileSystem, clock: any StorageClock,
        logger: Logger, cleanShutdown: Bool, highWatermarkFollowsLogEnd: Bool = true, durability: LogLoader.Durability
    ) throws(StorageError) -> PartitionLog {
        let loaded = try LogLoader.load(
            directory: directory, fileSystem: fileSystem, clock: clock, logger: logger,
            config: config, cleanShutdown: cleanShutdown, durability: durability)
        return PartitionLog(
            directory: directory, fileSystem: fileSystem, clock: clock, logger: logger, loaded: loaded,
            highWatermarkFollowsLogEnd: highWatermarkFollowsLogEnd)
    }

    private init(
        directory: String, fileSystem: any FileSystem, clock: any StorageClock, logger: Logger,
        loaded: LogLoader.Loaded, highWatermarkFollowsLogEnd: Bool
    ) {
        self.directory = directory
        self.fileSystem = fileSystem
        self.clock = clock
        self.logger = logger
        self.highWatermarkFollowsLogEnd = highWatermarkFollowsLogEnd
        // Everything recovered is on disk, so it may be served.
        self.state = ConditionLock(
            State(
                local: loaded.log, transactions: loaded.transactions, durableTransactions: loaded.transactions,
                highWatermark: loaded.log.logEndOffset, lastFlushTime: clock.nowMilliseconds()))
        self.recoveredSegmentCount = loaded.recoveredSegmentCount
        self.truncatedByteCount = loaded.truncatedByteCount
        self.needsSync = loaded.needsSync
    }

    /// True when the log was opened with deferred durability and loading changed files the
    /// caller must still sync.
    let needsSync: Bool

    /// How many segments the last open scanned with CRC checks, and how many bytes it cut off.
    public let recoveredSegmentCount: Int
    public let truncatedByteCount: Int64

    /// The first offset a reader may ask for.
    public var logStartOffset: Int64 { state.withLock { $0.local.logStartOffset } }
    /// The offset the next appended record gets.
    public var logEndOffset: Int64 { state.withLock { $0.local.logEndOffset } }
    /// Readers using ``FetchIsolation/highWatermark`` see offsets below this one.
    public var highWatermark: Int64 { state.withLock { $0.highWatermark } }
    /// Readers using ``FetchIsolation/committed`` see offsets below this one.
    public var lastStableOffset: Int64 { state.withLock { $0.lastStableOffset } }
    /// The first offset of each producer's open transaction in this partition, by producer id.
    public var openTransactionStartOffsets: [Int64: Int64] { state.withLock { $0.transactions.ongoing } }
    /// Every offset below this one is durable.
    public var recoveryPoint: Int64 { state.withLock { $0.local.recoveryPoint } }
    /// Bytes in all segments.
    public var size: Int64 { state.withLock { $0.local.size } }
    /// The base offsets of the segments, oldest first.
    public var segmentBaseOffsets: [Int64] { state.withLock { $0.local.segments.map(\.baseOffset) } }
    /// The configuration in force.
    public var config: LogConfig {
        get { state.withLock { $0.local.config } }
        set { state.withLock { $0.local.config = newValue } }
    }

    /// Appends the record batches in `records` (v2, as a producer sent them), assigning offsets
    /// from the log end by rewriting each batch's base offset, and its max timestamp when the
    /// topic uses LogAppendTime. Batch bodies are written as they are, without a copy.
    ///
    /// Every batch's framing and CRC are checked first; invalid input throws an error for which
    /// ``StorageError/isInvalidInput`` is true and appends nothing. With `durability: .flushed`
    /// and the group-commit flush policy, returns only once the batches are fsynced.
    @discardableResult
    public func append(
        _ records: ByteBuffer, durability: AppendDurability = .written, leaderEpoch: Int32? = nil
    ) throws(StorageError) -> LogAppendInfo {
        let batches = try validate(records)
        let (info, flushNow) = try state.withLock { state throws(StorageError) -> (LogAppendInfo, Bool) in
            try state.checkUsable()
            return try appendLocked(&state, records, batches: batches, leaderEpoch: leaderEpoch)
        }
        switch config.flushPolicy {
        case .groupCommit where durability == .flushed:
            try waitUntilDurable(info.lastOffset + 1)
        case .interval where flushNow:
            try flush()
        default:
            break
        }
        return info
    }

    private func validate(_ records: ByteBuffer) throws(StorageError) -> [(position: Int, header: RecordBatchHeader)] {
        let limit = config.maxBatchBytes
        var batches: [(position: Int, header: RecordBatchHeader)] = []
        var scanner = RecordBatchScanner(records, verifiesChecksums: true)
        while true {
            let next: (index: Int, header: RecordBatchHeader)?
            do throws(WireFormatError) {
                next = try scanner.next()
            } catch {
                throw StorageError.invalidBatch("\(error)")
            }
            guard let (index, header) = next else { break }
            guard header.totalSize <= limit else { throw StorageError.batchTooLarge(size: header.totalSize, limit: limit) }
            guard header.lastOffsetDelta >= 0, header.recordCount >= 0 else {
                throw StorageError.invalidBatch("negative last offset delta or record count")
            }
            batches.append((index - records.readerIndex, header))
        }
        guard !batches.isEmpty else { throw StorageError.invalidBatch("no record batches") }
        return batches
    }

    private func appendLocked(
        _ state: inout State, _ records: ByteBuffer, batches: [(position: Int, header: RecordBatchHeader)], leaderEpoch: Int32?
    ) throws(StorageError) -> (LogAppendInfo, Bool) {
        let logAppendTime = state.local.config.timestampType == .logAppendTime ? clock.nowMilliseconds() : nil
        var nextOffset = state.local.logEndOffset
        var buffers: [ByteBuffer] = []
        buffers.reserveCapacity(batches.count * 2)
        var written: [(position: Int, header: RecordBatchHeader)] = []
        var tracker = state.transactions
        var aborted: [AbortedTransaction] = []
        var maxTimestamp: Int64 = -1
        var recordCount = 0
        var position = 0
        for (relative, original) in batches {
            let start = records.readerIndex + relative
            var header = original
            header.baseOffset = nextOffset
            if let leaderEpoch { header.partitionLeaderEpoch = leaderEpoch }
            let body = records.getSlice(at: start + RecordBatchHeader.size, length: header.totalSize - RecordBatchHeader.size)!
            if let logAppendTime { Self.stamp(&header, logAppendTime: logAppendTime, body: body) }
            var headerBytes = ByteBufferAllocator().buffer(capacity: RecordBatchHeader.size)
            header.write(to: &headerBytes)
            buffers.append(headerBytes)
            buffers.append(body)
            written.append((position, header))
            if let entry = tracker.apply(header, bytes: records.getSlice(at: start, length: header.totalSize)!) {
                aborted.append(entry)
            }
            maxTimestamp = max(maxTimestamp, header.maxTimestamp)
            recordCount += Int(header.recordCount)
            position += header.totalSize
            nextOffset = header.nextOffset
        }
        try state.local.append(buffers, batches: written, byteCount: position)
        for entry in aborted { state.local.activeSegment.appendAbortedTransaction(entry) }
        state.transactions = tracker
        if highWatermarkFollowsLogEnd { state.highWatermark = state.local.logEndOffset }
        state.unflushedRecordCount += recordCount
        var flushNow = false
        if case .interval(let messages?, _) = state.local.config.flushPolicy, state.unflushedRecordCount >= messages { flushNow = true }
        let info = LogAppendInfo(
            firstOffset: written[0].header.baseOffset, lastOffset: nextOffset - 1, maxTimestamp: maxTimestamp,
            logAppendTime: logAppendTime, logStartOffset: state.local.logStartOffset, batchCount: written.count,
            recordCount: recordCount, byteCount: position)
        return (info, flushNow)
    }

    /// Marks `header` as stamped with the broker's `logAppendTime` and recomputes its CRC over
    /// the new header fields and the unchanged `body`.
    private static func stamp(_ header: inout RecordBatchHeader, logAppendTime: Int64, body: ByteBuffer) {
        header.attributes.insert(.logAppendTime)
        header.maxTimestamp = logAppendTime
        header.crc = 0
        var scratch = ByteBufferAllocator().buffer(capacity: RecordBatchHeader.size)
        header.write(to: &scratch)
        let covered = scratch.getSlice(
            at: RecordBatchHeader.checksumRangeStart, length: RecordBatchHeader.size - RecordBatchHeader.checksumRangeStart)!
        header.crc = CRC32C.checksum(body, continuing: CRC32C.checksum(covered))
    }

    /// Reads from `offset`: whole batches starting with the one that holds `offset`, up to about
    /// `maxBytes` (at least one whole batch when `minOneBatch`), never past the bound that
    /// `isolation` sets. Throws ``StorageError/offsetOutOfRange(_:logStartOffset:logEndOffset:)``
    /// outside `[logStartOffset, logEndOffset]`.
    public func read(
        from offset: Int64, maxBytes: Int, isolation: FetchIsolation = .highWatermark,
        minOneBatch: Bool = true
    ) throws(StorageError) -> FetchDataInfo {
        try read(from: offset, maxBytes: maxBytes, isolation: isolation, minOneBatch: minOneBatch, cachedOnly: false)
    }

    /// Reads as ``read(from:maxBytes:isolation:minOneBatch:)`` does, but only from memory: nil
    /// when a batch header it has to look at is not in the page cache. The records themselves
    /// are not read here (they go out from the returned ``FileRange``).
    public func readIfCached(
        from offset: Int64, maxBytes: Int, isolation: FetchIsolation = .highWatermark,
        minOneBatch: Bool = true
    ) throws(StorageError) -> FetchDataInfo? {
        do throws(StorageError) {
            return try read(from: offset, maxBytes: maxBytes, isolation: isolation, minOneBatch: minOneBatch, cachedOnly: true)
        } catch {
            if error.isNotCached { return nil }
            throw error
        }
    }

    private func read(
        from offset: Int64, maxBytes: Int, isolation: FetchIsolation, minOneBatch: Bool, cachedOnly: Bool
    ) throws(StorageError) -> FetchDataInfo {
        try state.withLock { state throws(StorageError) in
            try state.checkUsable()
            let lastStable = state.lastStableOffset
            let upperBound: Int64
            switch isolation {
            case .logEnd: upperBound = state.local.logEndOffset
            case .highWatermark: upperBound = state.highWatermark
            case .committed: upperBound = lastStable
            }
            let range = try state.local.read(
                from: offset, maxBytes: maxBytes, upperBound: upperBound, minOneBatch: minOneBatch, cachedOnly: cachedOnly)
            var aborted: [AbortedTransaction]?
            if isolation == .committed { aborted = range == nil ? [] : state.local.abortedTransactions(from: offset, upTo: upperBound) }
            return FetchDataInfo(
                fetchOffset: offset, records: range, highWatermark: state.highWatermark,
                lastStableOffset: lastStable, logStartOffset: state.local.logStartOffset,
                logEndOffset: state.local.logEndOffset, abortedTransactions: aborted)
        }
    }

    /// The first batch whose max timestamp is at least `timestamp` (ListOffsets), as its
    /// timestamp and base offset; nil when every record is older.
    public func offset(forTimestamp timestamp: Int64) throws(StorageError) -> TimestampAndOffset? {
        try state.withLock { state throws(StorageError) in
            try state.checkUsable()
            return try state.local.find(timestamp: timestamp)
        }
    }

    /// Moves the high watermark (replication decides it; never past the log end).
    public func updateHighWatermark(_ offset: Int64) {
        state.withLock { state in
            state.highWatermark = min(max(offset, state.local.logStartOffset), state.local.logEndOffset)
        }
    }
}
