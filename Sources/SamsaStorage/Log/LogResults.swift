import NIOCore

/// What an append did: the offsets it assigned and the timestamps it saw.
public struct LogAppendInfo: Hashable, Sendable {
    /// The offset assigned to the first record.
    public var firstOffset: Int64
    /// The offset assigned to the last record.
    public var lastOffset: Int64
    /// The largest timestamp among the appended batches (after LogAppendTime was applied).
    public var maxTimestamp: Int64
    /// The broker time written into the batches, when the topic uses LogAppendTime.
    public var logAppendTime: Int64?
    /// The log start offset after the append.
    public var logStartOffset: Int64
    /// How many batches and records were appended.
    public var batchCount: Int
    public var recordCount: Int
    /// Bytes appended.
    public var byteCount: Int
}

/// A byte range of a segment file, for `sendfile` (through ``StorageFile/fileDescriptor``) or
/// for a plain read. The file handle stays usable even if retention deletes the segment.
public struct FileRange: Sendable {
    /// The open segment file.
    public var file: any StorageFile
    /// Where the bytes start in the file.
    public var position: Int64
    /// How many bytes.
    public var length: Int

    /// Reads the range into a buffer.
    public func read() throws(StorageError) -> ByteBuffer {
        try checked(try file.read(at: position, count: length))
    }

    /// Reads the range into a buffer only from memory: nil when some of it is not in the page
    /// cache (see ``StorageFile/readIfCached(at:count:)``).
    public func readIfCached() throws(StorageError) -> ByteBuffer? {
        try file.readIfCached(at: position, count: length).map { buffer throws(StorageError) in try checked(buffer) }
    }

    private func checked(_ buffer: ByteBuffer) throws(StorageError) -> ByteBuffer {
        guard buffer.readableBytes == length else {
            throw StorageError.corrupt(path: file.path, position: position + Int64(buffer.readableBytes), "file shorter than expected")
        }
        return buffer
    }
}

/// Which offsets a read may return.
public enum FetchIsolation: Hashable, Sendable {
    /// Everything appended (followers, internal readers).
    case logEnd
    /// Up to the high watermark (`read_uncommitted` consumers).
    case highWatermark
    /// Up to the last stable offset (`read_committed` consumers); aborted transactions listed.
    case committed
}

/// The answer to a read: where the bytes are and the log's offsets at that moment.
public struct FetchDataInfo: Sendable {
    /// The offset the read started from.
    public var fetchOffset: Int64
    /// The bytes: whole batches from the one holding `fetchOffset`, possibly ending in a partial
    /// batch when the byte limit cuts one (as Kafka does). Nil when there is nothing to return.
    public var records: FileRange?
    /// The log's offsets when the read was served.
    public var highWatermark: Int64
    public var lastStableOffset: Int64
    public var logStartOffset: Int64
    public var logEndOffset: Int64
    /// Aborted transactions overlapping the returned range (only for ``FetchIsolation/committed``).
    public var abortedTransactions: [AbortedTransaction]?

    /// The records as a buffer (empty when there are none).
    public func readRecords() throws(StorageError) -> ByteBuffer {
        try records?.read() ?? ByteBufferAllocator().buffer(capacity: 0)
    }
}

/// The answer to a lookup by timestamp (ListOffsets).
public struct TimestampAndOffset: Hashable, Sendable {
    /// The timestamp found (the batch's max timestamp).
    public var timestamp: Int64
    /// The offset found.
    public var offset: Int64
}
