import NIOCore
import SamsaBinary
import SamsaCoordination
import Testing

@Suite("__consumer_offsets records, retention, consumer subscriptions")
struct OffsetsRecordTests {
    @Test("an offset commit encodes as Kafka's key v1 and value v3, and decodes back")
    func offsetRoundTrip() throws {
        let committed = CommittedOffset(offset: 42, leaderEpoch: 3, metadata: "meta", commitTimestamp: 1_700_000_000_000)
        let record = OffsetsTopicRecord.offset(group: "g", topic: "t", partition: 5, committed)
        let key = record.encodeKey()
        #expect(Array(key.readableBytesView) == [0, 1, 0, 1, 0x67, 0, 1, 0x74, 0, 0, 0, 5])
        let value = try #require(record.encodeValue())
        #expect(value.getInteger(at: 0, as: Int16.self) == 3)
        #expect(value.readableBytes == 2 + 8 + 4 + 2 + 4 + 8)
        #expect(try OffsetsTopicRecord.decode(key: key, value: value) == record)
        // A tombstone decodes as a deletion.
        #expect(try OffsetsTopicRecord.decode(key: key, value: nil) == .offset(group: "g", topic: "t", partition: 5, nil))
    }

    @Test("an offset with an explicit expiry is written as value v1")
    func offsetWithExpiry() throws {
        let committed = CommittedOffset(offset: 7, metadata: "", commitTimestamp: 10, expireTimestamp: 99)
        let record = OffsetsTopicRecord.offset(group: "g", topic: "t", partition: 0, committed)
        let value = try #require(record.encodeValue())
        #expect(value.getInteger(at: 0, as: Int16.self) == 1)
        #expect(try OffsetsTopicRecord.decode(key: record.encodeKey(), value: value) == record)
    }

    @Test("group metadata round-trips as key v2 and value v3; a v0 value decodes too")
    func groupRoundTrip() throws {
        let member = ClassicGroupSnapshot.Member(
            memberId: "m-1", groupInstanceId: "i", clientId: "c", clientHost: "/127.0.0.1", rebalanceTimeoutMs: 300,
            sessionTimeoutMs: 100, subscription: ByteBuffer(string: "sub"), assignment: ByteBuffer(string: "asg")
        )
        let snapshot = ClassicGroupSnapshot(
            protocolType: "consumer", generationId: 4, protocolName: "range", leaderId: "m-1", currentStateTimestamp: 123, members: [member]
        )
        let record = OffsetsTopicRecord.group(group: "g", snapshot)
        #expect(Array(record.encodeKey().readableBytesView) == [0, 2, 0, 1, 0x67])
        #expect(try OffsetsTopicRecord.decode(key: record.encodeKey(), value: record.encodeValue()) == record)

        var v0 = ByteBuffer()
        v0.writeKafkaInt16(0)
        v0.writeKafkaString("consumer")
        v0.writeKafkaInt32(9)
        v0.writeKafkaNullableString("range")
        v0.writeKafkaNullableString("m")
        v0.writeArrayCount(1)
        v0.writeKafkaString("m")
        v0.writeKafkaString("c")
        v0.writeKafkaString("/h")
        v0.writeKafkaInt32(30_000)
        v0.writeKafkaBytes(ByteBuffer(string: "s"))
        v0.writeKafkaBytes(ByteBuffer(string: "a"))
        let decoded = try OffsetsTopicRecord.decode(key: record.encodeKey(), value: v0)
        guard case .group(_, let old?)? = decoded else {
            Issue.record("v0 group metadata did not decode: \(String(describing: decoded))")
            return
        }
        #expect(old.generationId == 9)
        #expect(old.members.first?.sessionTimeoutMs == 30_000)
        #expect(old.members.first?.rebalanceTimeoutMs == 30_000)
        #expect(old.members.first?.groupInstanceId == nil)
    }

    @Test("unknown key versions are skipped; truncated values throw")
    func badRecords() throws {
        var key = ByteBuffer()
        key.writeKafkaInt16(3)
        key.writeKafkaString("g")
        #expect(try OffsetsTopicRecord.decode(key: key, value: nil) == nil)
        let good = OffsetsTopicRecord.offset(group: "g", topic: "t", partition: 0, CommittedOffset(offset: 1, commitTimestamp: 2))
        var value = try #require(good.encodeValue())
        value.moveWriterIndex(to: value.writerIndex - 3)
        #expect(throws: WireFormatError.self) { try OffsetsTopicRecord.decode(key: good.encodeKey(), value: value) }
    }

    @Test("retention: explicit expiry, empty consumer groups from when they emptied, standalone commits from each commit")
    func retention() {
        let day: Int64 = 86_400_000
        let offset = CommittedOffset(offset: 1, commitTimestamp: 0)
        #expect(
            !OffsetRetention.isExpired(
                offset, groupIsEmpty: false, usesGroupManagement: true, emptySince: 0, retentionMs: day, now: 10 * day))
        #expect(
            !OffsetRetention.isExpired(
                offset, groupIsEmpty: true, usesGroupManagement: true, emptySince: 5 * day, retentionMs: day, now: 5 * day + 10))
        #expect(
            OffsetRetention.isExpired(
                offset, groupIsEmpty: true, usesGroupManagement: true, emptySince: 5 * day, retentionMs: day, now: 6 * day))
        #expect(
            OffsetRetention.isExpired(
                offset, groupIsEmpty: true, usesGroupManagement: false, emptySince: 5 * day, retentionMs: day, now: day))
        let explicit = CommittedOffset(offset: 1, commitTimestamp: 0, expireTimestamp: 50)
        #expect(
            OffsetRetention.isExpired(explicit, groupIsEmpty: false, usesGroupManagement: true, emptySince: 0, retentionMs: day, now: 50))
    }

    @Test("the topics of a consumer subscription are read from JoinGroup metadata")
    func subscriptionTopics() {
        let metadata = ConsumerProtocolSubscription.encode(topics: ["a", "b"], userData: ByteBuffer(string: "x"))
        #expect(ConsumerProtocolSubscription.topics(in: metadata) == ["a", "b"])
        #expect(ConsumerProtocolSubscription.topics(in: ByteBuffer(bytes: [0, 0, 0, 0, 0, 9])) == nil)
    }
}
