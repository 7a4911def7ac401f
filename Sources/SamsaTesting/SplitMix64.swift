#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A small, fast, reproducible `RandomNumberGenerator` (SplitMix64): the same seed gives the
/// same values on every machine, so a randomized test that fails can be run again exactly.
public struct SplitMix64: RandomNumberGenerator, Sendable {
    /// The generator's state; starts as the seed.
    public var state: UInt64

    /// Starts from `seed`.
    public init(seed: UInt64) {
        state = seed
    }

    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// The seed of a randomized test: `SAMSA_TEST_SEED` from the environment when set, so a
/// printed seed reruns the same test, otherwise a fresh one.
public enum TestSeed {
    /// The seed to use for this run, not printed.
    public static func fromEnvironment() -> UInt64 {
        if let text = getenv("SAMSA_TEST_SEED"), let seed = UInt64(String(cString: text)) { return seed }
        var generator = SystemRandomNumberGenerator()
        return generator.next()
    }

    /// The seed for `test`, printed with the way to rerun the test with it.
    public static func printed(for test: String) -> UInt64 {
        let seed = fromEnvironment()
        print("\(test) seed: \(seed) (rerun with SAMSA_TEST_SEED=\(seed))")
        return seed
    }
}
