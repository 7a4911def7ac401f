import SamsaStorage

/// The broker's time: what the logs read (``StorageClock``) plus sleeping until a deadline,
/// which every timer of the broker uses (group sessions and rebalances, long-poll fetches,
/// periodic maintenance).
///
/// Deadlines are absolute readings of the same clock, so a test that moves a manual clock past
/// a deadline wakes exactly the sleepers due by then, whenever they started to sleep.
public protocol BrokerClock: StorageClock {
    /// Suspends until the clock reads `deadline` (milliseconds since the epoch) or later;
    /// returns at once when it already does.
    ///
    /// - Throws: `CancellationError` when the task is cancelled first.
    func sleep(untilMilliseconds deadline: Int64) async throws
}

extension SystemClock: BrokerClock {
    public func sleep(untilMilliseconds deadline: Int64) async throws {
        // The wall clock may step while sleeping; sleep again for what is left, if anything.
        while true {
            let left = deadline - nowMilliseconds()
            guard left > 0 else { return }
            try await Task.sleep(for: .milliseconds(left))
        }
    }
}

extension Duration {
    /// The duration in whole milliseconds (rounded down), the unit of the broker's clock.
    var wholeMilliseconds: Int64 {
        let (seconds, attoseconds) = components
        return seconds * 1000 + attoseconds / 1_000_000_000_000_000
    }
}
