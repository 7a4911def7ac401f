import Logging
import NIOCore
import SamsaBinary
import SamsaRecords

/// What one compaction pass did.
public struct CompactionResult: Hashable, Sendable {
    /// Segments rewritten.
    public var segmentCount = 0
    /// Records removed (superseded values and expired tombstones).
    public var removedRecordCount = 0
    /// Bytes before and after.
    public var bytesBefore: Int64 = 0
    public var bytesAfter: Int64 = 0
}

/// Log compaction (`cleanup.policy=compact`): keeps the latest record per key in the segments
/// that are no longer active and are below the high watermark.
///
/// Records keep their offsets and order; a batch that loses records is rebuilt with its original
/// base offset, last offset delta, timestamps, producer fields and codec, so offsets and the
/// producer's last sequence stay where they were. Records without a key are kept. Tombstones
/// (null values) are removed once their batch is older than `delete.retention.ms`. Control
/// batches and transactional batches are kept whole (the transaction state that would let the
/// cleaner drop aborted data belongs to the broker).
///
/// Each segment is rewritten to `<base>.log.cleaned`, fsynced, and renamed over `<base>.log`
/// after its (rebuildable) offset and time indexes are removed; a crash at any step leaves
/// either the old or the new segment, and leftovers are removed when the log opens.
struct LogCleaner {
    let maxDecompressedBytes: Int
    let logger: Logger

    func clean(_ log: LocalLog, highWatermark: Int64, now: Int64) throws(StorageError) -> CompactionResult {
        let cleanable = log.segments.dropLast().filter { $0.nextOffset <= highWatermark && $0.size > 0 }
        guard !cleanable.isEmpty else { return CompactionResult() }
        let latest = try latestOffsets(in: cleanable)
        let tombstoneHorizon = now - log.config.deleteRetentionMilliseconds
        var result = CompactionResult()
        for segment in cleanable {
            let (output, removed) = try compacted(segment, latest: latest, tombstoneHorizon: tombstoneHorizon)
            result.bytesBefore += segment.size
            guard removed > 0 else {
                result.bytesAfter += segment.size
                continue
            }
            let replacement = try swap(segment, in: log, contents: output)
            result.segmentCount += 1
            result.removedRecordCount += removed
            result.bytesAfter += replacement.size
        }
        return result
    }

    /// The offset of the latest record of each key in `segments` (control and transactional
    /// batches are kept whole, so their keys do not count).
    private func latestOffsets(in segments: [LogSegment]) throws(StorageError) -> [ByteBuffer: Int64] {
        var latest: [ByteBuffer: Int64] = [:]
        for segment in segments {
            try forEachBatch(in: segment) { batch, position throws(StorageError) in
                guard !batch.header.isControl, !batch.header.isTransactional else { return }
                var records: RecordIterator
                do throws(RecordBatchError) {
                    records = try batch.records(maxDecompressedBytes: maxDecompressedBytes)
                } catch {
                    throw StorageError.corrupt(path: segment.logFile.path, position: position, "\(error)")
                }
                do throws(WireFormatError) {
                    while let record = try records.next() {
                        if let key = record.key { latest[key] = record.offset }
                    }
                } catch {
                    throw StorageError.corrupt(path: segment.logFile.path, position: position, "\(error)")
                }
            }
        }
        return latest
    }

    /// The bytes of `segment` with superseded records and expired tombstones removed, and how
    /// many records went.
    private func compacted(
        _ segment: LogSegment, latest: [ByteBuffer: Int64], tombstoneHorizon: Int64
    ) throws(StorageError) -> (ByteBuffer, removed: Int) {
        var output = ByteBufferAllocator().buffer(capacity: Int(segment.size))
        var removed = 0
        try forEachBatch(in: segment) { batch, position throws(StorageError) in
            if batch.header.isControl || batch.header.isTransactional {
                output.writeImmutableBuffer(batch.bytes)
                return
            }
            let records: [BatchRecord]
            do throws(RecordBatchError) {
                records = try batch.decodeRecords(maxDecompressedBytes: maxDecompressedBytes)
            } catch {
                throw StorageError.corrupt(path: segment.logFile.path, position: position, "\(error)")
            }
            let kept = records.filter { record in
                guard let key = record.key else { return true }
                guard latest[key] == record.offset else { return false }
                return record.value != nil || batch.header.maxTimestamp >= tombstoneHorizon
            }
            removed += records.count - kept.count
            if kept.count == records.count {
                output.writeImmutableBuffer(batch.bytes)
            } else if !kept.isEmpty {
                output.writeImmutableBuffer(try Self.rebuild(batch.header, keeping: kept, path: segment.logFile.path, position: position))
            }
        }
        return (output, removed)
    }

    /// Calls `body` with each batch of `segment` and its position in the file.
    private func forEachBatch(
        in segment: LogSegment, _ body: (RecordBatch, Int64) throws(StorageError) -> Void
    ) throws(StorageError) {
        let bytes = try segment.logFile.read(at: 0, count: Int(segment.size))
        var scanner = RecordBatchScanner(bytes)
        while true {
            let position = Int64(scanner.position - bytes.readerIndex)
            let batch: RecordBatch?
            do throws(WireFormatError) {
                batch = try scanner.nextBatch()
            } catch {
                throw StorageError.corrupt(path: segment.logFile.path, position: position, "\(error)")
            }
            guard let batch else { return }
            try body(batch, position)
        }
    }

    /// A batch with only `records`, keeping the original header fields that define offsets,
    /// time and producer state.
    static func rebuild(
        _ original: RecordBatchHeader, keeping records: [BatchRecord], path: String, position: Int64
    ) throws(StorageError) -> ByteBuffer {
        var encoded = ByteBufferAllocator().buffer(capacity: 256)
        for record in records { record.record.write(to: &encoded) }
        let payload: ByteBuffer
        do throws(CompressionError) {
            payload = try original.compression.compress(encoded, level: nil, allocator: ByteBufferAllocator())
        } catch {
            throw StorageError.corrupt(path: path, position: position, "cannot recompress the compacted batch: \(error)")
        }
        var header = original
        header.recordCount = Int32(records.count)
        header.batchLength = Int32(RecordBatchHeader.size - RecordBatchHeader.lengthFieldEnd + payload.readableBytes)
        header.crc = 0
        var batch = ByteBufferAllocator().buffer(capacity: header.totalSize)
        header.write(to: &batch)
        batch.writeImmutableBuffer(payload)
        let crc = RecordBatch.computeChecksum(batch, at: batch.readerIndex)!
        batch.setInteger(crc, at: batch.readerIndex + 17, endianness: .big)
        return batch
    }

    private func swap(_ segment: LogSegment, in log: LocalLog, contents: ByteBuffer) throws(StorageError) -> LogSegment {
        let logPath = LogSegment.path(in: log.directory, baseOffset: segment.baseOffset, suffix: LogFileNames.logSuffix)
        let cleanedPath = logPath + LogFileNames.cleanedSuffix
        let cleaned = try log.fileSystem.openFile(at: cleanedPath, create: true)
        try cleaned.truncate(to: 0)
        try cleaned.write(contents, at: 0)
        try cleaned.sync()
        try segment.writeIndexes()
        for suffix in LogFileNames.requiredIndexSuffixes {
            let path = LogSegment.path(in: log.directory, baseOffset: segment.baseOffset, suffix: suffix)
            if log.fileSystem.exists(at: path) { try log.fileSystem.removeFile(at: path) }
        }
        try log.fileSystem.syncDirectory(at: log.directory)
        try log.fileSystem.rename(from: cleanedPath, to: logPath)
        try log.fileSystem.syncDirectory(at: log.directory)
        let replacement = try LogSegment.open(
            fileSystem: log.fileSystem, directory: log.directory,
            baseOffset: segment.baseOffset, config: log.config, now: segment.rollStartTime)
        _ = try replacement.recover(logger: logger, transactionsFrom: Int64.max) { _, _ in }
        try replacement.onBecomeInactive()
        try replacement.flush(includingIndexes: true)
        // Opening the replacement created its index files afresh; recovery rebuilds them if a
        // crash loses their names, but the next flush makes them durable anyway.
        log.directoryNeedsSync = true
        replacement.rollStartTime = segment.rollStartTime
        guard let index = log.segments.firstIndex(where: { $0 === segment }) else {
            preconditionFailure("segment vanished during compaction")
        }
        log.replaceSegment(at: index, with: replacement)
        logger.info(
            "compacted segment",
            metadata: [
                "file": "\(logPath)", "bytesBefore": "\(segment.size)", "bytesAfter": "\(replacement.size)",
            ])
        return replacement
    }
}

extension PartitionLog {
    /// Compacts the log (when its cleanup policy includes compact): see ``LogCleaner``.
    /// Runs under the log's lock, so appends wait while it runs.
    @discardableResult
    public func compact(maxDecompressedBytes: Int = 64 << 20) throws(StorageError) -> CompactionResult {
        try state.withLock(waitingUntil: { !$0.flushInProgress }) { state throws(StorageError) in
            try state.checkUsable()
            guard state.local.config.cleanupPolicy.contains(.compact) else { return CompactionResult() }
            let cleaner = LogCleaner(maxDecompressedBytes: maxDecompressedBytes, logger: logger)
            return try cleaner.clean(state.local, highWatermark: state.highWatermark, now: clock.nowMilliseconds())
        }
    }
}
