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
/// Thread safety: all mutable state is guarded by `lock` (a mutex with a condition variable).
public final class PartitionLog: @unchecked Sendable {
    /// The partition directory (`<data dir>/<topic>-<partition>`).
    public let directory: String
    let fileSystem: any FileSystem
    let clock: any StorageClock
    let logger: Logger
    let lock = ConditionLock()

    // Guarded by `lock`.
    var local: LocalLog
    var transactions: TransactionTracker
    var highWatermarkValue: Int64
    var highWatermarkFollowsLogEnd: Bool
    var isClosed = false
    var failure: (any Error)?
    var flushInProgress = false
    var truncationCount = 0
    var unflushedRecordCount = 0
    var lastFlushTime: Int64
    /// The transaction state as of the recovery point, for the checkpoint.
    var durableTransactions: TransactionTracker

    /// Opens (creating if needed) the log in `directory`, recovering it unless `cleanShutdown`.
    ///
    /// - Parameters:
    ///   - highWatermarkFollowsLogEnd: advance the high watermark to the log end on every append
    ///     (a single replica); otherwise the broker moves it with ``updateHighWatermark(_:)``.
    public static func open(
        directory: String, config: LogConfig = LogConfig(), fileSystem: any FileSystem, clock: any StorageClock,
        logger: Logger = Logger(label: "samsa.storage"), cleanShutdown: Bool = false, highWatermarkFollowsLogEnd: Bool = true
    ) throws -> PartitionLog {
        let loaded = try LogLoader.load(directory: directory, fileSystem: fileSystem, clock: clock, logger: logger,
                                        config: config, cleanShutdown: cleanShutdown)
        return PartitionLog(directory: directory, fileSystem: fileSystem, clock: clock, logger: logger, loaded: loaded,
                            highWatermarkFollowsLogEnd: highWatermarkFollowsLogEnd)
    }

    private init(directory: String, fileSystem: any FileSystem, clock: any StorageClock, logger: Logger,
                 loaded: LogLoader.Loaded, highWatermarkFollowsLogEnd: Bool) {
        self.directory = directory
        self.fileSystem = fileSystem
        self.clock = clock
        self.logger = logger
        self.local = loaded.log
        self.transactions = loaded.transactions
        self.durableTransactions = loaded.transactions
        // Everything recovered is on disk, so it may be served.
        self.highWatermarkValue = loaded.log.logEndOffset
        self.highWatermarkFollowsLogEnd = highWatermarkFollowsLogEnd
        self.lastFlushTime = clock.nowMilliseconds()
        self.recoveredSegmentCount = loaded.recoveredSegmentCount
        self.truncatedByteCount = loaded.truncatedByteCount
    }

    /// How many segments the last open scanned with CRC checks, and how many bytes it cut off.
    public let recoveredSegmentCount: Int
    public let truncatedByteCount: Int64

    /// The first offset a reader may ask for.
    public var logStartOffset: Int64 { lock.withLock { local.logStartOffset } }
    /// The offset the next appended record gets.
    public var logEndOffset: Int64 { lock.withLock { local.logEndOffset } }
    /// Readers using ``FetchIsolation/highWatermark`` see offsets below this one.
    public var highWatermark: Int64 { lock.withLock { highWatermarkValue } }
    /// Readers using ``FetchIsolation/committed`` see offsets below this one.
    public var lastStableOffset: Int64 { lock.withLock { lastStableOffsetLocked } }
    /// Every offset below this one is durable.
    public var recoveryPoint: Int64 { lock.withLock { local.recoveryPoint } }
    /// Bytes in all segments.
    public var size: Int64 { lock.withLock { local.size } }
    /// The base offsets of the segments, oldest first.
    public var segmentBaseOffsets: [Int64] { lock.withLock { local.segments.map(\.baseOffset) } }
    /// The configuration in force.
    public var config: LogConfig {
        get { lock.withLock { local.config } }
        set { lock.withLock { local.config = newValue } }
    }

    var lastStableOffsetLocked: Int64 {
        min(transactions.firstUnstableOffset ?? highWatermarkValue, highWatermarkValue)
    }

    func checkUsable() throws {
        if isClosed { throw StorageError.closed(path: directory) }
        if let failure { throw failure }
    }

    /// Appends the record batches in `records` (v2, as a producer sent them), assigning offsets
    /// from the log end by rewriting each batch's base offset, and its max timestamp when the
    /// topic uses LogAppendTime. Batch bodies are written as they are, without a copy.
    ///
    /// Every batch's framing and CRC are checked first; invalid input throws an error for which
    /// ``StorageError/isInvalidInput`` is true and appends nothing. With `durability: .flushed`
    /// and the group-commit flush policy, returns only once the batches are fsynced.
    @discardableResult
    public func append(_ records: ByteBuffer, durability: AppendDurability = .written, leaderEpoch: Int32? = nil) throws -> LogAppendInfo {
        let batches = try validate(records)
        let (info, flushNow) = try lock.withLock { () throws -> (LogAppendInfo, Bool) in
            try checkUsable()
            return try appendLocked(records, batches: batches, leaderEpoch: leaderEpoch)
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

    private func validate(_ records: ByteBuffer) throws -> [(position: Int, header: RecordBatchHeader)] {
        let limit = config.maxBatchBytes
        var batches: [(position: Int, header: RecordBatchHeader)] = []
        var scanner = RecordBatchScanner(records, verifiesChecksums: true)
        do {
            while let (index, header) = try scanner.next() {
                guard header.totalSize <= limit else { throw StorageError.batchTooLarge(size: header.totalSize, limit: limit) }
                guard header.lastOffsetDelta >= 0, header.recordCount >= 0 else {
                    throw StorageError.invalidBatch("negative last offset delta or record count")
                }
                batches.append((index - records.readerIndex, header))
            }
        } catch let error as StorageError {
            throw error
        } catch {
            throw StorageError.invalidBatch("\(error)")
        }
        guard !batches.isEmpty else { throw StorageError.invalidBatch("no record batches") }
        return batches
    }

    private func appendLocked(
        _ records: ByteBuffer, batches: [(position: Int, header: RecordBatchHeader)], leaderEpoch: Int32?
    ) throws -> (LogAppendInfo, Bool) {
        let logAppendTime = local.config.timestampType == .logAppendTime ? clock.nowMilliseconds() : nil
        var nextOffset = local.logEndOffset
        var buffers: [ByteBuffer] = []
        buffers.reserveCapacity(batches.count * 2)
        var written: [(position: Int, header: RecordBatchHeader)] = []
        var tracker = transactions
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
            if let logAppendTime {
                header.attributes.insert(.logAppendTime)
                header.maxTimestamp = logAppendTime
                header.crc = 0
                var scratch = ByteBufferAllocator().buffer(capacity: RecordBatchHeader.size)
                header.write(to: &scratch)
                let covered = scratch.getSlice(at: RecordBatchHeader.checksumRangeStart, length: RecordBatchHeader.size - RecordBatchHeader.checksumRangeStart)!
                header.crc = CRC32C.checksum(body, continuing: CRC32C.checksum(covered))
            }
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
        try local.append(buffers, batches: written, byteCount: position)
        for entry in aborted { local.activeSegment.appendAbortedTransaction(entry) }
        transactions = tracker
        if highWatermarkFollowsLogEnd { highWatermarkValue = local.logEndOffset }
        unflushedRecordCount += recordCount
        var flushNow = false
        if case .interval(let messages?, _) = local.config.flushPolicy, unflushedRecordCount >= messages { flushNow = true }
        let info = LogAppendInfo(
            firstOffset: written[0].header.baseOffset, lastOffset: nextOffset - 1, maxTimestamp: maxTimestamp,
            logAppendTime: logAppendTime, logStartOffset: local.logStartOffset, batchCount: written.count,
            recordCount: recordCount, byteCount: position)
        return (info, flushNow)
    }

    /// Reads from `offset`: whole batches starting with the one that holds `offset`, up to about
    /// `maxBytes` (at least one whole batch when `minOneBatch`), never past the bound that
    /// `isolation` sets. Throws ``StorageError/offsetOutOfRange(_:logStartOffset:logEndOffset:)``
    /// outside `[logStartOffset, logEndOffset]`.
    public func read(from offset: Int64, maxBytes: Int, isolation: FetchIsolation = .highWatermark,
                     minOneBatch: Bool = true) throws -> FetchDataInfo {
        try lock.withLock {
            try checkUsable()
            let lastStable = lastStableOffsetLocked
            let upperBound: Int64
            switch isolation {
            case .logEnd: upperBound = local.logEndOffset
            case .highWatermark: upperBound = highWatermarkValue
            case .committed: upperBound = lastStable
            }
            let range = try local.read(from: offset, maxBytes: maxBytes, upperBound: upperBound, minOneBatch: minOneBatch)
            var aborted: [AbortedTransaction]?
            if isolation == .committed { aborted = range == nil ? [] : local.abortedTransactions(from: offset, upTo: upperBound) }
            return FetchDataInfo(fetchOffset: offset, records: range, highWatermark: highWatermarkValue,
                                 lastStableOffset: lastStable, logStartOffset: local.logStartOffset,
                                 logEndOffset: local.logEndOffset, abortedTransactions: aborted)
        }
    }

    /// The first batch whose max timestamp is at least `timestamp` (ListOffsets), as its
    /// timestamp and base offset; nil when every record is older.
    public func offset(forTimestamp timestamp: Int64) throws -> TimestampAndOffset? {
        try lock.withLock {
            try checkUsable()
            return try local.find(timestamp: timestamp)
        }
    }

    /// Moves the high watermark (replication decides it; never past the log end).
    public func updateHighWatermark(_ offset: Int64) {
        lock.withLock {
            highWatermarkValue = min(max(offset, local.logStartOffset), local.logEndOffset)
        }
    }
}
