import NIOConcurrencyHelpers
import SamsaBroker

/// A reproducible ``RandomSource`` (SplitMix64): the same seed gives the same member ids,
/// topic ids and cluster id, so a failing randomized test can be run again exactly.
public final class SeededRandomSource: RandomSource {
    /// The seed this source started from; print it with the test's outcome.
    public let seed: UInt64
    private let state: NIOLockedValueBox<SplitMix64>

    /// Starts from `seed`.
    public init(seed: UInt64) {
        self.seed = seed
        state = NIOLockedValueBox(SplitMix64(seed: seed))
    }

    /// Starts from the seed in the environment variable `SAMSA_TEST_SEED` when it is set,
    /// otherwise from a fresh random seed.
    public convenience init() {
        self.init(seed: TestSeed.fromEnvironment())
    }

    public func next() -> UInt64 {
        state.withLockedValue { $0.next() }
    }
}
