import NIOCore
import SamsaBinary

/// A record of the internal `__consumer_offsets` topic, in Kafka's own key and value formats,
/// so a log written here reads as Kafka's:
///
/// - offset commit: key `int16 version (1), string group, string topic, int32 partition`;
///   value `int16 version (3), int64 offset, int32 leader epoch, string metadata,
///   int64 commit timestamp` (version 1, `int64 offset, string metadata, int64 commit
///   timestamp, int64 expire timestamp`, when an expiry was requested);
/// - group metadata: key `int16 version (2), string group`; value version 3 (protocol type,
///   generation, protocol, leader, state timestamp, members with subscription and assignment).
///
/// A null value (tombstone) deletes the offset or the group; compaction keeps the latest
/// record per key. Older value versions (0-3) are read too.
public enum OffsetsTopicRecord: Sendable, Hashable {
    /// A committed offset, or its deletion when nil.
    case offset(group: String, topic: String, partition: Int32, CommittedOffset?)
    /// A classic group's metadata, or its deletion when nil.
    case group(group: String, ClassicGroupSnapshot?)

    /// The group the record belongs to.
    public var groupId: String {
        switch self {
        case .offset(let group, _, _, _), .group(let group, _): group
        }
    }

    /// The record key.
    public func encodeKey() -> ByteBuffer {
        var buffer = ByteBuffer()
        switch self {
        case .offset(let group, let topic, let partition, _):
            buffer.writeKafkaInt16(1)
            buffer.writeKafkaString(group)
            buffer.writeKafkaString(topic)
            buffer.writeKafkaInt32(partition)
        case .group(let group, _):
            buffer.writeKafkaInt16(2)
            buffer.writeKafkaString(group)
        }
        return buffer
    }

    /// The record value, or nil for a tombstone.
    public func encodeValue() -> ByteBuffer? {
        switch self {
        case .offset(_, _, _, nil), .group(_, nil):
            return nil
        case .offset(_, _, _, let committed?):
            var buffer = ByteBuffer()
            if let expire = committed.expireTimestamp {
                buffer.writeKafkaInt16(1)
                buffer.writeKafkaInt64(committed.offset)
                buffer.writeKafkaString(committed.metadata)
                buffer.writeKafkaInt64(committed.commitTimestamp)
                buffer.writeKafkaInt64(expire)
            } else {
                buffer.writeKafkaInt16(3)
                buffer.writeKafkaInt64(committed.offset)
                buffer.writeKafkaInt32(committed.leaderEpoch)
                buffer.writeKafkaString(committed.metadata)
                buffer.writeKafkaInt64(committed.commitTimestamp)
            }
            return buffer
        case .group(_, let snapshot?):
            var buffer = ByteBuffer()
            buffer.writeKafkaInt16(3)
            buffer.writeKafkaString(snapshot.protocolType)
            buffer.writeKafkaInt32(snapshot.generationId)
            buffer.writeKafkaNullableString(snapshot.protocolName)
            buffer.writeKafkaNullableString(snapshot.leaderId)
            buffer.writeKafkaInt64(snapshot.currentStateTimestamp)
            buffer.writeArrayCount(snapshot.members.count)
            for member in snapshot.members {
                buffer.writeKafkaString(member.memberId)
                buffer.writeKafkaNullableString(member.groupInstanceId)
                buffer.writeKafkaString(member.clientId)
                buffer.writeKafkaString(member.clientHost)
                buffer.writeKafkaInt32(member.rebalanceTimeoutMs)
                buffer.writeKafkaInt32(member.sessionTimeoutMs)
                buffer.writeKafkaBytes(member.subscription)
                buffer.writeKafkaBytes(member.assignment)
            }
            return buffer
        }
    }

    /// Decodes a record; nil for key versions this coordinator does not use (KIP-848 and
    /// share-group records), which replay skips.
    public static func decode(key: ByteBuffer, value: ByteBuffer?) throws(WireFormatError) -> OffsetsTopicRecord? {
        var key = key
        let keyVersion = try key.readKafkaInt16()
        switch keyVersion {
        case 0, 1:
            let group = try key.readKafkaString()
            let topic = try key.readKafkaString()
            let partition = try key.readKafkaInt32()
            return .offset(group: group, topic: topic, partition: partition, try value.map(decodeOffset))
        case 2:
            let group = try key.readKafkaString()
            return .group(group: group, try value.map(decodeGroup))
        default:
            return nil
        }
    }

    private static func decodeOffset(_ value: ByteBuffer) throws(WireFormatError) -> CommittedOffset {
        var value = value
        let version = try value.readKafkaInt16()
        let flexible = version >= 4
        let offset = try value.readKafkaInt64()
        let leaderEpoch = version >= 3 ? try value.readKafkaInt32() : -1
        let metadata = flexible ? try value.readCompactString() : try value.readKafkaString()
        let commitTimestamp = try value.readKafkaInt64()
        let expire = version == 1 ? try value.readKafkaInt64() : nil
        guard version >= 0 && version <= 4 else { throw .invalidValue("offset commit value version \(version)") }
        return CommittedOffset(
            offset: offset, leaderEpoch: leaderEpoch, metadata: metadata, commitTimestamp: commitTimestamp,
            expireTimestamp: expire.flatMap { $0 < 0 ? nil : $0 }
        )
    }

    private static func decodeGroup(_ value: ByteBuffer) throws(WireFormatError) -> ClassicGroupSnapshot {
        var value = value
        let version = try value.readKafkaInt16()
        guard version >= 0 && version <= 3 else { throw .invalidValue("group metadata value version \(version)") }
        let protocolType = try value.readKafkaString()
        let generation = try value.readKafkaInt32()
        let protocolName = try value.readKafkaNullableString()
        let leader = try value.readKafkaNullableString()
        let stateTimestamp = version >= 2 ? try value.readKafkaInt64() : -1
        let count = try value.readArrayCount(minimumElementSize: 18) ?? 0
        var members: [ClassicGroupSnapshot.Member] = []
        for _ in 0..<count {
            let memberId = try value.readKafkaString()
            let instance = version >= 3 ? try value.readKafkaNullableString() : nil
            let clientId = try value.readKafkaString()
            let clientHost = try value.readKafkaString()
            let sessionTimeout: Int32
            let rebalanceTimeout: Int32
            if version >= 1 {
                rebalanceTimeout = try value.readKafkaInt32()
                sessionTimeout = try value.readKafkaInt32()
            } else {
                sessionTimeout = try value.readKafkaInt32()
                rebalanceTimeout = sessionTimeout
            }
            let subscription = try value.readKafkaBytes()
            let assignment = try value.readKafkaBytes()
            members.append(
                ClassicGroupSnapshot.Member(
                    memberId: memberId, groupInstanceId: instance, clientId: clientId, clientHost: clientHost,
                    rebalanceTimeoutMs: rebalanceTimeout, sessionTimeoutMs: sessionTimeout,
                    subscription: subscription, assignment: assignment
                ))
        }
        return ClassicGroupSnapshot(
            protocolType: protocolType, generationId: generation, protocolName: protocolName, leaderId: leader,
            currentStateTimestamp: stateTimestamp, members: members
        )
    }
}
