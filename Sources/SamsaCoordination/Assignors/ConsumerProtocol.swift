import NIOCore
import SamsaBinary

/// The consumer protocol's embedded messages (protocol type `consumer`): what a member puts in
/// JoinGroup (its subscription) and what the leader hands out in SyncGroup (assignments), in
/// Kafka's `ConsumerProtocolSubscription` and `ConsumerProtocolAssignment` formats, which
/// Java, librdkafka and every other client read.
public enum ConsumerProtocol {
    /// A member's subscription (versions 0-3; version 3 is written).
    public struct Subscription: Hashable, Sendable {
        public var topics: [String]
        public var userData: ByteBuffer?
        /// v1+: the partitions the member owns now (cooperative rebalancing).
        public var ownedPartitions: [String: [Int32]]
        /// v2+: the generation the owned partitions are from, or -1.
        public var generationId: Int32
        /// v3+: the member's rack.
        public var rackId: String?

        public init(
            topics: [String], userData: ByteBuffer? = nil, ownedPartitions: [String: [Int32]] = [:], generationId: Int32 = -1,
            rackId: String? = nil
        ) {
            self.topics = topics
            self.userData = userData
            self.ownedPartitions = ownedPartitions
            self.generationId = generationId
            self.rackId = rackId
        }

        /// The subscription as version 3.
        public func encode() -> ByteBuffer {
            var buffer = ByteBuffer()
            buffer.writeKafkaInt16(3)
            buffer.writeArrayCount(topics.count)
            for topic in topics { buffer.writeKafkaString(topic) }
            buffer.writeKafkaNullableBytes(userData)
            ConsumerProtocol.writePartitions(ownedPartitions, into: &buffer)
            buffer.writeKafkaInt32(generationId)
            buffer.writeKafkaNullableString(rackId)
            return buffer
        }

        /// Reads any version; fields of later versions than the one written keep their defaults.
        public init(decoding data: ByteBuffer) throws(WireFormatError) {
            var buffer = data
            let version = try buffer.readKafkaInt16()
            guard version >= 0 else { throw .invalidValue("negative consumer subscription version \(version)") }
            var topics: [String] = []
            for _ in 0..<(try buffer.readArrayCount(minimumElementSize: 2) ?? 0) {
                topics.append(try buffer.readKafkaString())
            }
            self.init(topics: topics)
            userData = try buffer.readKafkaNullableBytes()
            if version >= 1 { ownedPartitions = try ConsumerProtocol.readPartitions(&buffer) }
            if version >= 2 { generationId = try buffer.readKafkaInt32() }
            if version >= 3 { rackId = try buffer.readKafkaNullableString() }
        }
    }

    /// A member's assignment (versions 0-3 read alike; version 3 is written).
    public struct Assignment: Hashable, Sendable {
        public var partitions: [String: [Int32]]
        public var userData: ByteBuffer?

        public init(partitions: [String: [Int32]], userData: ByteBuffer? = nil) {
            self.partitions = partitions
            self.userData = userData
        }

        public func encode() -> ByteBuffer {
            var buffer = ByteBuffer()
            buffer.writeKafkaInt16(3)
            ConsumerProtocol.writePartitions(partitions, into: &buffer)
            buffer.writeKafkaNullableBytes(userData)
            return buffer
        }

        /// Reads any version; an empty buffer (a member left out by the leader) is no partitions.
        public init(decoding data: ByteBuffer) throws(WireFormatError) {
            guard data.readableBytes > 0 else {
                self.init(partitions: [:])
                return
            }
            var buffer = data
            let version = try buffer.readKafkaInt16()
            guard version >= 0 else { throw .invalidValue("negative consumer assignment version \(version)") }
            self.init(partitions: try ConsumerProtocol.readPartitions(&buffer))
            if buffer.readableBytes > 0 { userData = try buffer.readKafkaNullableBytes() }
        }
    }

    static func writePartitions(_ partitions: [String: [Int32]], into buffer: inout ByteBuffer) {
        buffer.writeArrayCount(partitions.count)
        for topic in partitions.keys.sorted() {
            buffer.writeKafkaString(topic)
            let indexes = partitions[topic]!.sorted()
            buffer.writeArrayCount(indexes.count)
            for index in indexes { buffer.writeKafkaInt32(index) }
        }
    }

    static func readPartitions(_ buffer: inout ByteBuffer) throws(WireFormatError) -> [String: [Int32]] {
        var partitions: [String: [Int32]] = [:]
        for _ in 0..<(try buffer.readArrayCount(minimumElementSize: 6) ?? 0) {
            let topic = try buffer.readKafkaString()
            var indexes: [Int32] = []
            for _ in 0..<(try buffer.readArrayCount(minimumElementSize: 4) ?? 0) {
                indexes.append(try buffer.readKafkaInt32())
            }
            partitions[topic, default: []] += indexes
        }
        return partitions
    }
}
