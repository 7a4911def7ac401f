import NIOConcurrencyHelpers
import SamsaStorage

/// A clock that moves only when told to, for tests of roll and retention without sleeping.
public final class ManualClock: StorageClock {
    private let now: NIOLockedValueBox<Int64>

    /// Creates a clock reading `start` milliseconds since the epoch.
    public init(startingAt start: Int64 = 1_700_000_000_000) {
        now = NIOLockedValueBox(start)
    }

    public func nowMilliseconds() -> Int64 { now.withLockedValue { $0 } }

    /// Moves the clock forward by `milliseconds`.
    public func advance(byMilliseconds milliseconds: Int64) {
        precondition(milliseconds >= 0, "a clock does not move backwards")
        now.withLockedValue { $0 += milliseconds }
    }
}
