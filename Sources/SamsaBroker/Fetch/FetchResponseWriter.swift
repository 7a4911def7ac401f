import NIOCore
import SamsaBinary
import SamsaProtocol
import SamsaStorage

/// Encodes a Fetch response around record bytes that stay in their segment files.
///
/// The bytes are the same as the generated `FetchResponse.encode` writes (a test checks this for
/// every version), except that a partition whose records are given as a file range gets only
/// the length prefix in a buffer, followed by a file region that NIO sends with `sendfile`; the
/// encoding goes on in a fresh buffer after it. The lengths are right by construction: the
/// `records` field is a length-prefixed byte string (int32, or unsigned varint of length + 1
/// when flexible) and nothing before it in the frame depends on its size except the frame's own
/// size prefix, which ``ResponseFrame`` computes from its parts.
enum FetchResponseWriter {
    /// A frame for `response` at `version`. Where `files[topic][partition]` is set, those bytes
    /// are sent from the file (its descriptor duplicated and owned by the frame) and the
    /// partition's `records` value is ignored.
    ///
    /// - Precondition: every given file range has a file descriptor.
    static func frame(
        _ response: FetchResponse, files: [[FileRange?]], version: Int16, correlationId: Int32,
        allocator: ByteBufferAllocator
    ) throws -> ResponseFrame {
        let flexible = FetchResponse.isFlexible(version: version)
        var frame = ResponseFrame()
        var buffer = allocator.buffer(capacity: 256)
        ResponseHeader(correlationId: correlationId).encode(into: &buffer, headerVersion: flexible ? 1 : 0)
        if version >= 1 {
            buffer.writeKafkaInt32(response.throttleTimeMs)
        }
        if version >= 7 {
            buffer.writeKafkaInt16(response.errorCode)
            buffer.writeKafkaInt32(response.sessionId)
        }
        writeCount(response.responses.count, flexible: flexible, into: &buffer)
        for (topicIndex, topic) in response.responses.enumerated() {
            if version <= 12 {
                if flexible { buffer.writeCompactString(topic.topic) } else { buffer.writeKafkaString(topic.topic) }
            }
            if version >= 13 {
                buffer.writeKafkaUUID(topic.topicId)
            }
            writeCount(topic.partitions.count, flexible: flexible, into: &buffer)
            for (partitionIndex, partition) in topic.partitions.enumerated() {
                let file =
                    topicIndex < files.count && partitionIndex < files[topicIndex].count
                    ? files[topicIndex][partitionIndex] : nil
                writeFields(of: partition, version: version, flexible: flexible, into: &buffer)
                try writeRecords(of: partition, file: file, flexible: flexible, into: &frame, buffer: &buffer, allocator: allocator)
                if flexible {
                    buffer.writeTaggedFields(taggedFields(of: partition, version: version))
                }
            }
            if flexible {
                buffer.writeTaggedFields(topic.unknownTaggedFields)
            }
        }
        if flexible {
            var tagged = response.unknownTaggedFields
            if version >= 16 && !response.nodeEndpoints.isEmpty {
                var tag = ByteBuffer()
                tag.writeCompactArrayCount(response.nodeEndpoints.count)
                for endpoint in response.nodeEndpoints { endpoint.encode(into: &tag, version: version) }
                tagged.insertSorted(TaggedField(tag: 0, data: tag))
            }
            buffer.writeTaggedFields(tagged)
        }
        frame.append(buffer)
        return frame
    }

    /// The partition's `records`: inline from the partition, or as the length prefix ending
    /// `buffer` followed by the file region, the encoding going on in a fresh buffer.
    private static func writeRecords(
        of partition: FetchResponse.PartitionData, file: FileRange?, flexible: Bool, into frame: inout ResponseFrame,
        buffer: inout ByteBuffer, allocator: ByteBufferAllocator
    ) throws {
        guard let file else {
            if flexible {
                buffer.writeCompactNullableBytes(partition.records)
            } else {
                buffer.writeKafkaNullableBytes(partition.records)
            }
            return
        }
        guard let descriptor = file.file.fileDescriptor else {
            preconditionFailure("a fetch file range without a descriptor must be read into a buffer first")
        }
        if flexible {
            buffer.writeUnsignedVarint(UInt32(file.length + 1))
        } else {
            buffer.writeKafkaInt32(Int32(file.length))
        }
        frame.append(buffer)
        try frame.appendFile(descriptor: descriptor, position: file.position, length: file.length)
        buffer = allocator.buffer(capacity: 256)
    }

    private static func writeCount(_ count: Int, flexible: Bool, into buffer: inout ByteBuffer) {
        if flexible { buffer.writeCompactArrayCount(count) } else { buffer.writeArrayCount(count) }
    }

    /// The fields of a partition before `records`.
    private static func writeFields(
        of partition: FetchResponse.PartitionData, version: Int16, flexible: Bool, into buffer: inout ByteBuffer
    ) {
        buffer.writeKafkaInt32(partition.partitionIndex)
        buffer.writeKafkaInt16(partition.errorCode)
        buffer.writeKafkaInt64(partition.highWatermark)
        if version >= 4 {
            buffer.writeKafkaInt64(partition.lastStableOffset)
        }
        if version >= 5 {
            buffer.writeKafkaInt64(partition.logStartOffset)
        }
        if version >= 4 {
            let aborted = partition.abortedTransactions
            if flexible { buffer.writeCompactArrayCount(aborted?.count) } else { buffer.writeArrayCount(aborted?.count) }
            for entry in aborted ?? [] { entry.encode(into: &buffer, version: version) }
        }
        if version >= 11 {
            buffer.writeKafkaInt32(partition.preferredReadReplica)
        }
    }

    /// A partition's tagged fields, as the generated encoder orders them.
    private static func taggedFields(of partition: FetchResponse.PartitionData, version: Int16) -> [TaggedField] {
        var tagged = partition.unknownTaggedFields
        if partition.divergingEpoch != FetchResponse.EpochEndOffset() {
            var tag = ByteBuffer()
            partition.divergingEpoch.encode(into: &tag, version: version)
            tagged.insertSorted(TaggedField(tag: 0, data: tag))
        }
        if partition.currentLeader != FetchResponse.LeaderIdAndEpoch() {
            var tag = ByteBuffer()
            partition.currentLeader.encode(into: &tag, version: version)
            tagged.insertSorted(TaggedField(tag: 1, data: tag))
        }
        if partition.snapshotId != FetchResponse.SnapshotId() {
            var tag = ByteBuffer()
            partition.snapshotId.encode(into: &tag, version: version)
            tagged.insertSorted(TaggedField(tag: 2, data: tag))
        }
        return tagged
    }
}
