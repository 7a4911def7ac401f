import NIOCore
import SamsaBinary

/// A record of the internal `__transaction_state` topic in Kafka's formats, so the log reads as
/// Kafka's:
///
/// - key: `int16 version (0), string transactional id`;
/// - value: `int16 version`, then `int64 producer id, int16 producer epoch, int32 timeout ms,
///   int8 state, nullable [string topic, [int32 partition]] partitions, int64 last update
///   timestamp, int64 start timestamp`. Version 1 is flexible (compact strings and arrays,
///   tagged fields 0 previous producer id, 1 next producer id, 2 client transaction version).
///   Version 0 is written unless the id has a previous or next producer id (its epochs ran
///   out), which only version 1 can carry; both are read.
///
/// A null value (tombstone) removes the id; compaction keeps the latest record per key.
public enum TransactionStateRecord {
    /// The record key of `transactionalId`.
    public static func encodeKey(_ transactionalId: String) -> ByteBuffer {
        var buffer = ByteBuffer()
        buffer.writeKafkaInt16(0)
        buffer.writeKafkaString(transactionalId)
        return buffer
    }

    /// The record value of `metadata`: version 0, or version 1 when it has a previous or next
    /// producer id.
    public static func encodeValue(_ metadata: TransactionMetadata) -> ByteBuffer {
        let flexible = metadata.previousProducerId >= 0 || metadata.nextProducerId >= 0
        var buffer = ByteBuffer()
        buffer.writeKafkaInt16(flexible ? 1 : 0)
        buffer.writeKafkaInt64(metadata.producerId)
        buffer.writeKafkaInt16(metadata.producerEpoch)
        buffer.writeKafkaInt32(metadata.transactionTimeoutMs)
        buffer.writeKafkaInt8(metadata.state.rawValue)
        let byTopic = Dictionary(grouping: metadata.partitions, by: \.topic)
        flexible ? buffer.writeCompactArrayCount(byTopic.count) : buffer.writeArrayCount(byTopic.count)
        for topic in byTopic.keys.sorted() {
            flexible ? buffer.writeCompactString(topic) : buffer.writeKafkaString(topic)
            let partitions = byTopic[topic]!.map(\.partition).sorted()
            flexible ? buffer.writeCompactArrayCount(partitions.count) : buffer.writeArrayCount(partitions.count)
            for partition in partitions { buffer.writeKafkaInt32(partition) }
            if flexible { buffer.writeEmptyTaggedFields() }
        }
        buffer.writeKafkaInt64(metadata.lastUpdateTimestamp)
        buffer.writeKafkaInt64(metadata.transactionStartTimestamp)
        if flexible {
            var fields: [TaggedField] = []
            for (tag, id) in [(UInt32(0), metadata.previousProducerId), (1, metadata.nextProducerId)] where id >= 0 {
                var data = ByteBuffer()
                data.writeKafkaInt64(id)
                fields.append(TaggedField(tag: tag, data: data))
            }
            buffer.writeTaggedFields(fields)
        }
        return buffer
    }

    /// The transactional id of a record key.
    public static func decodeKey(_ key: ByteBuffer) throws(WireFormatError) -> String {
        var key = key
        let version = try key.readKafkaInt16()
        guard version == 0 else { throw .invalidValue("unknown __transaction_state key version \(version)") }
        return try key.readKafkaString()
    }

    /// The metadata of a record value (versions 0 and 1) for `transactionalId`.
    public static func decodeValue(_ value: ByteBuffer, transactionalId: String) throws(WireFormatError) -> TransactionMetadata {
        var value = value
        let version = try value.readKafkaInt16()
        guard version == 0 || version == 1 else { throw .invalidValue("unknown __transaction_state value version \(version)") }
        let flexible = version >= 1
        let producerId = try value.readKafkaInt64()
        let epoch = try value.readKafkaInt16()
        let timeout = try value.readKafkaInt32()
        let rawState = try value.readKafkaInt8()
        guard let state = TransactionState(rawValue: rawState) else { throw .invalidValue("unknown transaction state \(rawState)") }
        var metadata = TransactionMetadata(
            transactionalId: transactionalId, producerId: producerId, producerEpoch: epoch, transactionTimeoutMs: timeout, state: state,
            lastUpdateTimestamp: 0)
        let topicCount = flexible ? try value.readCompactArrayCount(minimumElementSize: 2) : try value.readArrayCount(minimumElementSize: 6)
        for _ in 0..<(topicCount ?? 0) {
            let topic = flexible ? try value.readCompactString() : try value.readKafkaString()
            let count = flexible ? try value.readCompactArrayCount(minimumElementSize: 4) : try value.readArrayCount(minimumElementSize: 4)
            for _ in 0..<(count ?? 0) {
                metadata.partitions.insert(TransactionPartition(topic: topic, partition: try value.readKafkaInt32()))
            }
            if flexible { _ = try value.readUnknownTaggedFields() }
        }
        metadata.lastUpdateTimestamp = try value.readKafkaInt64()
        metadata.transactionStartTimestamp = try value.readKafkaInt64()
        if flexible {
            for field in try value.readUnknownTaggedFields() where field.tag == 0 || field.tag == 1 {
                var data = field.data
                let id = try data.readKafkaInt64()
                if field.tag == 0 { metadata.previousProducerId = id } else { metadata.nextProducerId = id }
            }
        }
        return metadata
    }
}
