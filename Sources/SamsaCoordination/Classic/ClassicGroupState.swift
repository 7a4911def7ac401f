/// The states of a classic consumer group, named as Kafka names them (DescribeGroups and
/// ListGroups show these strings).
///
/// ```
/// Empty ──join──▶ PreparingRebalance ──all joined / timeout──▶ CompletingRebalance
///   ▲                 ▲        │                                   │ leader's assignment stored
///   └──last member────┘        └──no member left──▶ Empty          ▼
///      leaves/expires     ◀──────── join, leave, expiry ───────── Stable
/// ```
/// Dead is terminal: the group was deleted (or expired) and is being removed.
public enum ClassicGroupState: String, Sendable, Hashable, CaseIterable {
    /// No members; the group may still hold committed offsets.
    case empty = "Empty"
    /// A rebalance started: the coordinator waits for the members to (re)join.
    case preparingRebalance = "PreparingRebalance"
    /// Everyone joined; the coordinator waits for the leader's assignment (SyncGroup).
    case completingRebalance = "CompletingRebalance"
    /// Every member has its assignment and heartbeats.
    case stable = "Stable"
    /// The group is gone; requests get COORDINATOR_NOT_AVAILABLE so clients look it up again.
    case dead = "Dead"

    /// Parses a state name case-insensitively, as ListGroups' state filter does.
    public init?(filterName: String) {
        guard let match = Self.allCases.first(where: { $0.rawValue.lowercased() == filterName.lowercased() }) else {
            return nil
        }
        self = match
    }
}
