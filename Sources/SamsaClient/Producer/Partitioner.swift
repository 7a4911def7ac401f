import NIOConcurrencyHelpers
import NIOCore
import SamsaRecords

/// Picks the partition of a record that names none.
public protocol Partitioner: Sendable {
    /// The partition of a record with `key` (nil for no key) in a topic of `partitionCount`
    /// partitions (at least 1); `recordBytes` is about the record's size in a batch.
    func partition(topic: String, key: ByteBuffer?, partitionCount: Int, recordBytes: Int) -> Int32
}

/// Kafka's default: keyed records go to `murmur2(key) & 0x7fffffff % partitionCount`, the
/// same partition as with the Java client, franz-go, KafkaJS 2, kafka-python, aiokafka and
/// librdkafka's `murmur2_random`; records without a key stick to one partition per topic
/// until `batchBytes` have gone there, then move on to another (KIP-794's uniform sticky
/// partitioning), so they fill batches instead of spreading thin.
public final class DefaultPartitioner: Partitioner {
    private struct Sticky {
        var partition: Int32
        var bytesLeft: Int
    }

    private let batchBytes: Int
    private let sticky = NIOLockedValueBox<[String: Sticky]>([:])

    /// `batchBytes`: how many bytes of keyless records go to one partition before the next.
    public init(batchBytes: Int = 16_384) {
        self.batchBytes = max(1, batchBytes)
    }

    public func partition(topic: String, key: ByteBuffer?, partitionCount: Int, recordBytes: Int) -> Int32 {
        if let key { return Self.murmur2Partition(key, partitionCount: partitionCount) }
        return sticky.withLockedValue { table in
            var entry = table[topic] ?? Sticky(partition: Int32.random(in: 0..<Int32(partitionCount)), bytesLeft: batchBytes)
            if entry.partition >= partitionCount || entry.bytesLeft <= 0 {
                var next = Int32.random(in: 0..<Int32(partitionCount))
                if partitionCount > 1 && next == entry.partition { next = (next + 1) % Int32(partitionCount) }
                entry = Sticky(partition: next, bytesLeft: batchBytes)
            }
            entry.bytesLeft -= recordBytes
            table[topic] = entry
            return entry.partition
        }
    }

    /// `murmur2(key) & 0x7fffffff % partitionCount`.
    public static func murmur2Partition(_ key: ByteBuffer, partitionCount: Int) -> Int32 {
        let hash = key.withUnsafeReadableBytes { Murmur2.hash($0) }
        return Int32(Int(UInt32(bitPattern: hash) & 0x7fff_ffff) % partitionCount)
    }
}

/// librdkafka's default (`consistent_random`, also kcat's and confluent-kafka's): keyed records
/// go to `crc32(key) % partitionCount`; records with an empty or no key to a random partition.
public struct CRC32Partitioner: Partitioner {
    public init() {}

    public func partition(topic: String, key: ByteBuffer?, partitionCount: Int, recordBytes: Int) -> Int32 {
        guard let key, key.readableBytes > 0 else { return Int32.random(in: 0..<Int32(partitionCount)) }
        let crc = key.withUnsafeReadableBytes { CRC32.checksum($0) }
        return Int32(Int(crc) % partitionCount)
    }
}

/// Sarama's default (`NewHashPartitioner`): FNV-1a 32 of the key as a signed int, modulo the
/// count, negated when negative; no key goes to a random partition.
public struct FNV1aPartitioner: Partitioner {
    public init() {}

    public func partition(topic: String, key: ByteBuffer?, partitionCount: Int, recordBytes: Int) -> Int32 {
        guard let key else { return Int32.random(in: 0..<Int32(partitionCount)) }
        var hash: UInt32 = 2_166_136_261
        key.withUnsafeReadableBytes { bytes in
            for byte in bytes {
                hash ^= UInt32(byte)
                hash = hash &* 16_777_619
            }
        }
        let partition = Int32(bitPattern: hash) % Int32(partitionCount)
        return partition < 0 ? -partition : partition
    }
}

/// Kafka's murmur2 (`org.apache.kafka.common.utils.Utils.murmur2`): 32-bit, wrapping, with
/// little-endian 4-byte words and logical shifts.
public enum Murmur2 {
    /// The hash as Java's signed int.
    public static func hash(_ data: UnsafeRawBufferPointer) -> Int32 {
        let length = data.count
        let m: UInt32 = 0x5bd1_e995
        let r: UInt32 = 24
        var h: UInt32 = 0x9747_b28c ^ UInt32(truncatingIfNeeded: length)
        let words = length / 4
        for index in 0..<words {
            let base = index * 4
            var k = UInt32(data[base]) | UInt32(data[base + 1]) << 8 | UInt32(data[base + 2]) << 16 | UInt32(data[base + 3]) << 24
            k = k &* m
            k ^= k >> r
            k = k &* m
            h = h &* m
            h ^= k
        }
        let tail = length & ~3
        switch length % 4 {
        case 3:
            h ^= UInt32(data[tail + 2]) << 16
            h ^= UInt32(data[tail + 1]) << 8
            h ^= UInt32(data[tail])
            h = h &* m
        case 2:
            h ^= UInt32(data[tail + 1]) << 8
            h ^= UInt32(data[tail])
            h = h &* m
        case 1:
            h ^= UInt32(data[tail])
            h = h &* m
        default:
            break
        }
        h ^= h >> 13
        h = h &* m
        h ^= h >> 15
        return Int32(bitPattern: h)
    }
}
