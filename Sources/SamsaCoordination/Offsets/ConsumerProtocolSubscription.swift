import NIOCore
import SamsaBinary

/// The topics in a consumer's JoinGroup metadata (Kafka's ConsumerProtocolSubscription: an
/// int16 version, then the topic names as an int16-length string array, then fields this type
/// does not need). The coordinator reads it only to tell which topics a group consumes.
public enum ConsumerProtocolSubscription {
    /// The subscribed topics in `metadata`, or nil if it is not a consumer subscription.
    public static func topics(in metadata: ByteBuffer) -> [String]? {
        var buffer = metadata
        do throws(WireFormatError) {
            let version = try buffer.readKafkaInt16()
            guard version >= 0 else { return nil }
            guard let count = try buffer.readArrayCount(minimumElementSize: 2) else { return [] }
            var topics: [String] = []
            topics.reserveCapacity(count)
            for _ in 0..<count {
                topics.append(try buffer.readKafkaString())
            }
            return topics
        } catch {
            return nil
        }
    }

    /// Encodes a version-0 subscription of `topics` (for tests and simple members).
    public static func encode(topics: [String], userData: ByteBuffer? = nil) -> ByteBuffer {
        var buffer = ByteBuffer()
        buffer.writeKafkaInt16(0)
        buffer.writeArrayCount(topics.count)
        for topic in topics {
            buffer.writeKafkaString(topic)
        }
        buffer.writeKafkaNullableBytes(userData)
        return buffer
    }
}
