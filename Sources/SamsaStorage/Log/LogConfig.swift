/// The per-topic settings of a log, named after Kafka's topic configs.
public struct LogConfig: Hashable, Sendable {
    /// `segment.bytes`: roll when the active segment would grow past this size.
    public var segmentBytes: Int = 1 << 30
    /// `segment.ms`: roll when the active segment is older than this.
    public var segmentMilliseconds: Int64 = 7 * 24 * 3_600_000
    /// `index.interval.bytes`: bytes appended between two offset-index entries.
    public var indexIntervalBytes: Int = 4096
    /// `segment.index.bytes` / 8: roll when the offset index holds this many entries.
    public var maxIndexEntries: Int = 10 * 1024 * 1024 / 8
    /// `retention.ms`: delete segments whose newest record is older (nil: keep forever).
    public var retentionMilliseconds: Int64? = 7 * 24 * 3_600_000
    /// `retention.bytes`: delete the oldest segments while the log is larger (nil: no limit).
    public var retentionBytes: Int64?
    /// `cleanup.policy`: delete, compact, or both.
    public var cleanupPolicy: CleanupPolicy = .delete
    /// `delete.retention.ms`: how long compaction keeps tombstones.
    public var deleteRetentionMilliseconds: Int64 = 24 * 3_600_000
    /// `message.timestamp.type`.
    public var timestampType: LogTimestampType = .createTime
    /// `max.message.bytes`: the largest batch an append accepts.
    public var maxBatchBytes: Int = 1_048_588
    /// When appended data is made durable (`flush.messages`, `flush.ms` and Samsa's group commit).
    public var flushPolicy: FlushPolicy = .groupCommit

    /// The default configuration (Kafka's defaults, with group commit).
    public init() {}
}

/// `cleanup.policy`: what happens to old data.
public struct CleanupPolicy: OptionSet, Hashable, Sendable {
    public let rawValue: Int
    public init(rawValue: Int) { self.rawValue = rawValue }

    /// Delete whole segments by `retention.ms` and `retention.bytes`.
    public static let delete = CleanupPolicy(rawValue: 1)
    /// Keep the latest record per key.
    public static let compact = CleanupPolicy(rawValue: 2)
}

/// `message.timestamp.type`: whose clock stamps the records.
public enum LogTimestampType: Hashable, Sendable {
    /// Keep the producer's timestamps.
    case createTime
    /// Overwrite each batch's max timestamp with the broker's clock at append.
    case logAppendTime
}

/// When the log calls fsync.
public enum FlushPolicy: Hashable, Sendable {
    /// Appends that ask for durability wait until an fsync covers them; concurrent appenders
    /// share one fsync (group commit). What `acks=all` means in Samsa.
    case groupCommit
    /// Flush after this many unflushed messages or when ``LogManager/flushDirtyLogs()`` finds
    /// data older than this many milliseconds; appends never wait. Either may be nil.
    case interval(messages: Int?, milliseconds: Int64?)
    /// Never flush except on roll and close; the operating system writes back when it likes.
    case none
}

/// How long an append waits.
public enum AppendDurability: Hashable, Sendable {
    /// Return once the bytes are in the log (page cache): `acks=1`.
    case written
    /// Return once the bytes are durable, when the flush policy is ``FlushPolicy/groupCommit``.
    case flushed
}
