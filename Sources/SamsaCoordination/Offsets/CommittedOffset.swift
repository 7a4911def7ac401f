/// One committed offset of a group for one partition (Kafka's OffsetAndMetadata).
public struct CommittedOffset: Sendable, Hashable {
    /// The next offset the group will consume.
    public var offset: Int64
    /// The leader epoch of the last consumed record, or -1.
    public var leaderEpoch: Int32
    /// Free-form metadata the client stored with the offset (round-tripped by OffsetFetch).
    public var metadata: String
    /// When the commit happened, in ms since the epoch.
    public var commitTimestamp: Int64
    /// An explicit expiry requested by OffsetCommit v2-4's retention time, or nil.
    public var expireTimestamp: Int64?

    public init(offset: Int64, leaderEpoch: Int32 = -1, metadata: String = "", commitTimestamp: Int64, expireTimestamp: Int64? = nil) {
        self.offset = offset
        self.leaderEpoch = leaderEpoch
        self.metadata = metadata
        self.commitTimestamp = commitTimestamp
        self.expireTimestamp = expireTimestamp
    }
}

/// When committed offsets expire (`offsets.retention.minutes`, KIP-211).
public enum OffsetRetention {
    /// Whether `committed` has expired at `now`.
    ///
    /// - An explicit expire timestamp always applies.
    /// - A group with members keeps its offsets.
    /// - An empty group that used group management (a protocol type) keeps them for the
    ///   retention period after it became empty (`emptySince`); a group that only ever had
    ///   offsets committed (standalone consumers) for the retention period after each commit.
    public static func isExpired(
        _ committed: CommittedOffset, groupIsEmpty: Bool, usesGroupManagement: Bool, emptySince: Int64,
        retentionMs: Int64, now: Int64
    ) -> Bool {
        if let expire = committed.expireTimestamp { return now >= expire }
        guard groupIsEmpty else { return false }
        let base = usesGroupManagement ? emptySince : committed.commitTimestamp
        return now >= base + retentionMs
    }
}
