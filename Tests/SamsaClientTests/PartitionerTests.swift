import NIOCore
import SamsaProtocol
import Testing

@testable import SamsaClient

@Suite("Partitioners", .timeLimit(.minutes(1)))
struct PartitionerTests {
    private func murmur(_ text: String) -> Int32 {
        Array(text.utf8).withUnsafeBytes { Murmur2.hash($0) }
    }

    @Test("murmur2 matches Java's Utils.murmur2 and KafkaJS's test vectors")
    func murmur2Vectors() {
        let vectors: [(String, Int32)] = [
            ("21", -973_932_308), ("foobar", -790_332_482), ("a-little-bit-long-string", -985_981_536),
            ("a-little-bit-longer-string", -1_486_304_829), ("abc", 479_470_107), ("0", 971_027_396), ("1", -1_993_445_489),
            ("100:48069", 1_009_543_857),
        ]
        for (text, expected) in vectors {
            #expect(murmur(text) == expected, "murmur2(\(text))")
        }
    }

    @Test("keyed records land on murmur2(key) & 0x7fffffff % count; an empty key is hashed too")
    func keyedPartition() {
        let partitioner = DefaultPartitioner()
        for text in ["user-1", "user-2", "abc", ""] {
            let expected = Int32(Int(UInt32(bitPattern: murmur(text)) & 0x7fff_ffff) % 7)
            #expect(partitioner.partition(topic: "t", key: ByteBuffer(string: text), partitionCount: 7, recordBytes: 10) == expected)
        }
    }

    @Test("records without a key stick to one partition until a batch's worth of bytes went there")
    func stickyPartition() {
        let partitioner = DefaultPartitioner(batchBytes: 1_000)
        let first = partitioner.partition(topic: "t", key: nil, partitionCount: 4, recordBytes: 100)
        for _ in 0..<8 {
            #expect(partitioner.partition(topic: "t", key: nil, partitionCount: 4, recordBytes: 100) == first)
        }
        // The tenth record exhausts the 1,000 bytes: the next one moves to another partition.
        #expect(partitioner.partition(topic: "t", key: nil, partitionCount: 4, recordBytes: 100) == first)
        #expect(partitioner.partition(topic: "t", key: nil, partitionCount: 4, recordBytes: 100) != first)
    }

    @Test("librdkafka's consistent partitioner is crc32(key) % count")
    func crc32Partition() {
        // zlib crc32("abc") = 0x352441C2.
        #expect(
            CRC32Partitioner().partition(topic: "t", key: ByteBuffer(string: "abc"), partitionCount: 10, recordBytes: 3)
                == Int32(0x3524_41C2 % 10))
    }
}

@Suite("Cluster metadata")
struct ClusterMetadataTests {
    private func metadata(_ counts: [String: Int]) -> ClusterMetadata {
        var response = MetadataResponse()
        for (name, count) in counts {
            var topic = MetadataResponse.MetadataResponseTopic()
            topic.name = name
            topic.partitions = (0..<count).map { index in
                var partition = MetadataResponse.MetadataResponsePartition()
                partition.partitionIndex = Int32(index)
                return partition
            }
            response.topics.append(topic)
        }
        return ClusterMetadata(response)
    }

    @Test("the remembered partition count follows a refresh that adds partitions or topics")
    func rememberedCountFollowsRefreshes() {
        var cached = metadata(["orders": 3])
        #expect(cached.rememberedPartitionCount(of: "orders") == 3)
        #expect(cached.rememberedPartitionCount(of: "orders") == 3)
        #expect(cached.rememberedPartitionCount(of: "new") == nil)
        #expect(cached.rememberedPartitionCount(of: "new") == nil)
        cached.merge(metadata(["orders": 5, "new": 2]))
        #expect(cached.rememberedPartitionCount(of: "new") == 2)
        #expect(cached.rememberedPartitionCount(of: "orders") == 5)
        #expect(cached.rememberedPartitionCount(of: "orders") == cached.partitionCount(of: "orders"))
    }
}
