#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import NIOConcurrencyHelpers
import SamsaBroker

/// A reproducible ``RandomSource`` (SplitMix64): the same seed gives the same member ids,
/// topic ids and cluster id, so a failing randomized test can be run again exactly.
public final class SeededRandomSource: RandomSource {
    /// The seed this source started from; print it with the test's outcome.
    public let seed: UInt64
    private let state: NIOLockedValueBox<UInt64>

    /// Starts from `seed`.
    public init(seed: UInt64) {
        self.seed = seed
        state = NIOLockedValueBox(seed)
    }

    /// Starts from the seed in the environment variable `SAMSA_TEST_SEED` when it is set,
    /// otherwise from a fresh random seed.
    public convenience init() {
        self.init(seed: TestSeed.fromEnvironment())
    }

    public func next() -> UInt64 {
        state.withLockedValue { state in
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
    }
}

/// The seed of a randomized test: `SAMSA_TEST_SEED` from the environment when set, so a
/// printed seed reruns the same test, otherwise a fresh one.
public enum TestSeed {
    /// The seed to use for this run.
    public static func fromEnvironment() -> UInt64 {
        if let text = getenv("SAMSA_TEST_SEED"), let seed = UInt64(String(cString: text)) { return seed }
        var generator = SystemRandomNumberGenerator()
        return generator.next()
    }
}
