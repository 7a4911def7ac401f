import NIOConcurrencyHelpers
import SamsaBinary

/// Where the broker's randomness comes from: member ids, topic ids and the cluster id.
/// Injected so that a test can make every one of them reproducible from a seed.
public protocol RandomSource: Sendable {
    /// The next 64 random bits.
    func next() -> UInt64
}

extension RandomSource {
    /// A random version-4 UUID that Kafka accepts as a topic id (see ``KafkaUUID/random(using:)``).
    public func uuid() -> KafkaUUID {
        var generator = RandomSourceGenerator(source: self)
        return KafkaUUID.random(using: &generator)
    }

    /// `count` random bytes (salts and nonces).
    func bytes(count: Int) -> [UInt8] {
        var result: [UInt8] = []
        result.reserveCapacity(count + 8)
        while result.count < count {
            withUnsafeBytes(of: next()) { result.append(contentsOf: $0) }
        }
        return Array(result.prefix(count))
    }
}

/// The operating system's cryptographically secure generator.
public struct SystemRandomSource: RandomSource {
    /// Creates the system source.
    public init() {}

    public func next() -> UInt64 {
        var generator = SystemRandomNumberGenerator()
        return generator.next()
    }
}

/// A `RandomNumberGenerator` view of a ``RandomSource``, for the standard library's APIs.
public struct RandomSourceGenerator: RandomNumberGenerator {
    let source: any RandomSource

    /// Draws from `source`.
    public init(source: any RandomSource) {
        self.source = source
    }

    public mutating func next() -> UInt64 { source.next() }
}
