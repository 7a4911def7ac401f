#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation
import NIOCore
import SamsaBinary
import SamsaProtocol
import SamsaStorage
import Testing

@testable import SamsaBroker

@Suite("FetchResponseWriter")
struct FetchResponseWriterTests {
    /// The bytes a peer receives for `frame` after its size prefix: buffers as they are, file
    /// regions read from their (duplicated) descriptors.
    static func materialize(_ frame: ResponseFrame) throws -> ByteBuffer {
        var out = ByteBuffer()
        for part in frame.parts {
            switch part {
            case .byteBuffer(var buffer):
                out.writeBuffer(&buffer)
            case .fileRegion(let region):
                let bytes = try region.fileHandle.withUnsafeFileDescriptor { descriptor in
                    var bytes = [UInt8](repeating: 0, count: region.readableBytes)
                    let count = pread(descriptor, &bytes, region.readableBytes, off_t(region.readerIndex))
                    #expect(count == region.readableBytes)
                    return bytes
                }
                out.writeBytes(bytes)
            }
        }
        #expect(out.readableBytes == frame.size)
        return out
    }

    /// A log in `directory` holding two batches; returns the file range of the second one
    /// (not at the start of its segment) and its bytes.
    static func fileRange(in directory: String) throws -> (FileRange, ByteBuffer) {
        let log = try PartitionLog.open(directory: directory, fileSystem: PosixFileSystem(), clock: SystemClock())
        try log.append(TestBatches.batch(count: 3, valueBytes: 10))
        try log.append(TestBatches.batch(count: 4, first: 3, valueBytes: 20))
        let range = try #require(try log.read(from: 3, maxBytes: 1 << 20).records)
        #expect(range.position > 0)
        let bytes = try range.read()
        try log.close()
        return (range, bytes)
    }

    /// A response using every field the writer handles; `placeholder` marks the partitions
    /// whose records come from files.
    static func sampleResponse(version: Int16, records: ByteBuffer) -> FetchResponse {
        var response = FetchResponse()
        response.throttleTimeMs = 5
        response.sessionId = 0
        var alpha = FetchResponse.FetchableTopicResponse()
        alpha.topic = "alpha"
        alpha.topicId = KafkaUUID(mostSignificantBits: 0x0102, leastSignificantBits: 0x0304)
        var fromFile = FetchResponse.PartitionData()
        fromFile.partitionIndex = 0
        fromFile.highWatermark = 42
        fromFile.lastStableOffset = 40
        fromFile.logStartOffset = 3
        fromFile.abortedTransactions = nil
        fromFile.records = records
        var failed = FetcherSamples.failed(1)
        failed.unknownTaggedFields = version >= 12 ? [TaggedField(tag: 9, data: ByteBuffer(bytes: [1, 2]))] : []
        var inline = FetchResponse.PartitionData()
        inline.partitionIndex = 2
        inline.highWatermark = 7
        inline.records = ByteBuffer(bytes: [9, 8, 7])
        inline.abortedTransactions = []
        var tagged = FetchResponse.PartitionData()
        tagged.partitionIndex = 3
        tagged.records = records
        var entry = FetchResponse.AbortedTransaction()
        entry.producerId = 11
        entry.firstOffset = 12
        tagged.abortedTransactions = [entry, entry]
        if version >= 12 {
            tagged.divergingEpoch.epoch = 2
            tagged.divergingEpoch.endOffset = 99
            tagged.currentLeader.leaderId = 1
            tagged.currentLeader.leaderEpoch = 0
            alpha.unknownTaggedFields = [TaggedField(tag: 4, data: ByteBuffer(bytes: [5]))]
        }
        alpha.partitions = [fromFile, failed, inline, tagged]
        var beta = FetchResponse.FetchableTopicResponse()
        beta.topic = "beta"
        var null = FetchResponse.PartitionData()
        null.records = nil
        beta.partitions = [null]
        response.responses = [alpha, beta]
        if version >= 16 {
            var endpoint = FetchResponse.NodeEndpoint()
            endpoint.nodeId = 1
            endpoint.host = "localhost"
            endpoint.port = 9092
            response.nodeEndpoints = [endpoint]
        }
        return response
    }

    @Test("file-region encoding is byte-equal to the generated encoder", arguments: Array(Int16(4)...18))
    func byteEquality(version: Int16) throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("fetch-writer-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        let (range, records) = try Self.fileRange(in: path)
        let expectedResponse = Self.sampleResponse(version: version, records: records)
        var expected = ByteBuffer()
        KafkaResponse.encode(expectedResponse, version: version, correlationId: 99, into: &expected)

        var withFiles = expectedResponse
        withFiles.responses[0].partitions[0].records = nil
        withFiles.responses[0].partitions[3].records = nil
        let files: [[FileRange?]] = [[range, nil, nil, range], [nil]]
        let frame = try FetchResponseWriter.frame(
            withFiles, files: files, version: version, correlationId: 99, allocator: ByteBufferAllocator())
        let regions = frame.parts.filter { if case .fileRegion = $0 { true } else { false } }
        #expect(regions.count == 2)
        #expect(try Self.materialize(frame) == expected)

        // And the decoded response is the one that was meant.
        var decoding = try Self.materialize(frame)
        let decoded = try KafkaResponse.decode(FetchResponse.self, version: version, from: &decoding)
        #expect(decoded.header.correlationId == 99)
        #expect(decoded.body.responses[0].partitions[3].records == records)
    }

    /// A frame sending a range of a log in `path`, built so that nothing but the frame refers
    /// to the segment file afterwards; also returns the range's bytes and a weak reference to
    /// storage's file handle.
    private static func frameOfSegment(at path: String) throws -> (ResponseFrame, ByteBuffer, StorageFileWatch) {
        let (range, records) = try fileRange(in: path)
        var response = FetchResponse()
        var topic = FetchResponse.FetchableTopicResponse()
        topic.partitions = [FetchResponse.PartitionData()]
        response.responses = [topic]
        let frame = try FetchResponseWriter.frame(
            response, files: [[range]], version: 12, correlationId: 1, allocator: ByteBufferAllocator())
        return (frame, records, StorageFileWatch(file: range.file))
    }

    @Test("the frame's descriptors outlive the segment file and close with the frame")
    func descriptorLifetime() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("fetch-lifetime-\(UUID().uuidString)").path
        var (frame, records, watch): (ResponseFrame?, ByteBuffer, StorageFileWatch) = try Self.frameOfSegment(at: path)
        // Retention deletes the segment and storage closed its own descriptor: the frame still sends it.
        try FileManager.default.removeItem(atPath: path)
        #expect(watch.file == nil, "storage's handle (and descriptor) is gone")
        var bytes = try Self.materialize(try #require(frame))
        let decoded = try KafkaResponse.decode(FetchResponse.self, version: 12, from: &bytes)
        #expect(decoded.body.responses.first?.partitions.first?.records == records)
        var handle: NIOFileHandle?
        for part in try #require(frame).parts {
            if case .fileRegion(let region) = part { handle = region.fileHandle }
        }
        let owned = try #require(handle)
        #expect(owned.isOpen)
        frame = nil
        #expect(!owned.isOpen, "the duplicate descriptor closes with the last copy of the frame")
    }
}

/// A weak reference to a storage file, to see when storage let go of it.
struct StorageFileWatch {
    weak var file: (any StorageFile)?
}

/// Small response values for the writer tests.
enum FetcherSamples {
    static func failed(_ partition: Int32) -> FetchResponse.PartitionData {
        FetchReader.failed(partition, .offsetOutOfRange)
    }
}
