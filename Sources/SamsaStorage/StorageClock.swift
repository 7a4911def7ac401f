#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import NIOConcurrencyHelpers

/// The wall clock the log reads for roll, retention and `LogAppendTime`, in milliseconds since
/// the Unix epoch (the unit of Kafka timestamps). Injected so tests control time.
public protocol StorageClock: Sendable {
    /// Milliseconds since 1970-01-01T00:00:00Z.
    func nowMilliseconds() -> Int64
}

/// The system's real-time clock (`CLOCK_REALTIME`).
public struct SystemClock: StorageClock {
    /// Creates the system clock.
    public init() {}

    public func nowMilliseconds() -> Int64 {
        var time = timespec()
        clock_gettime(CLOCK_REALTIME, &time)
        return Int64(time.tv_sec) * 1000 + Int64(time.tv_nsec) / 1_000_000
    }
}

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
