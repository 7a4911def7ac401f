import SamsaProtocol

/// What this broker says about partition leadership: it is the only node and leads every
/// partition in leader epoch 0, forever (no elections, so the epoch never moves).
enum PartitionLeadership {
    /// The leader epoch of every partition.
    static let leaderEpoch: Int32 = 0

    /// Kafka's check of a request's CurrentLeaderEpoch (Fetch v9+, ListOffsets v4+,
    /// OffsetForLeaderEpoch v2+): -1 skips it; an older epoch is FENCED_LEADER_EPOCH (the client
    /// is behind); a newer one is UNKNOWN_LEADER_EPOCH (the broker would be behind).
    static func checkCurrentLeaderEpoch(_ requested: Int32) -> PartitionResult<Void> {
        if requested == -1 || requested == leaderEpoch { return .success(()) }
        return .failure(PartitionError(requested < leaderEpoch ? .fencedLeaderEpoch : .unknownLeaderEpoch))
    }
}
