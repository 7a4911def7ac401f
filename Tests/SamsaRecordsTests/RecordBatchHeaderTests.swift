import Foundation
import NIOCore
import SamsaBinary
import Testing

@testable import SamsaRecords

@Suite("Record batch header")
struct RecordBatchHeaderTests {
    static let sample = RecordBatchHeader(
        baseOffset: 0x0102_0304_0506_0708, batchLength: 49, partitionLeaderEpoch: 7, crc: 0xDEAD_BEEF,
        attributes: RecordBatchAttributes(compression: .zstd, flags: [.transactional]),
        lastOffsetDelta: 3, baseTimestamp: 1_700_000_000_000, maxTimestamp: 1_700_000_000_009,
        producerId: 42, producerEpoch: 2, baseSequence: 100, recordCount: 4)

    @Test func sizesMatchTheLayout() {
        #expect(RecordBatchHeader.size == 61)
        #expect(RecordBatchHeader.lengthFieldEnd == 12)
        #expect(RecordBatchHeader.minimumBatchLength == 49)
    }

    @Test func encodesTheDocumentedLayout() {
        var buffer = ByteBuffer()
        Self.sample.write(to: &buffer)
        let expectedHex =
            "0102030405060708" + "00000031" + "00000007" + "02" + "deadbeef" + "0014" + "00000003"
            + "0000018bcfe56800" + "0000018bcfe56809" + "000000000000002a" + "0002" + "00000064" + "00000004"
        #expect(buffer.readableBytes == 61)
        #expect(buffer.bytes.map { String(format: "%02x", $0) }.joined() == expectedHex)
    }

    @Test func decodesWhatItEncodesAtAnyIndexWithoutMovingTheReader() throws {
        var buffer = ByteBuffer(bytes: [9, 9, 9])
        Self.sample.write(to: &buffer)
        buffer.moveReaderIndex(forwardBy: 1)
        let decoded = try RecordBatchHeader(decoding: buffer, at: 3)
        #expect(decoded == Self.sample)
        #expect(buffer.readerIndex == 1)
        #expect(decoded.totalSize == 61)
        #expect(decoded.lastOffset == 0x0102_0304_0506_070B)
        #expect(decoded.isTransactional && !decoded.isControl)
        #expect(decoded.compression == .zstd)
        #expect(decoded.timestampType == .createTime)
    }

    @Test func attributesBitsAreKafkas() {
        var attributes = RecordBatchAttributes(compression: .lz4, flags: [.control, .transactional, .deleteHorizon])
        #expect(attributes.rawValue == 0b111_0011)
        attributes.timestampType = .logAppendTime
        #expect(attributes.rawValue == 0b111_1011)
        attributes.compression = .gzip
        #expect(attributes.rawValue == 0b111_1001)
        #expect(RecordBatchAttributes(rawValue: 7).compression == nil)
        #expect(CompressionCodec(name: "ZSTD") == .zstd && CompressionCodec(name: "brotli") == nil)
    }

    @Test func rejectsBadMagicShortLengthUnknownCodecAndNegativeCount() throws {
        func header(_ mutate: (inout ByteBuffer) -> Void) -> ByteBuffer {
            var buffer = ByteBuffer()
            Self.sample.write(to: &buffer)
            mutate(&buffer)
            return buffer
        }
        let badMagic = header { $0.setInteger(Int8(1), at: 16) }
        #expect(throws: WireFormatError.self) { try RecordBatchHeader(decoding: badMagic, at: 0) }
        let shortLength = header { $0.setInteger(Int32(48), at: 8) }
        #expect(throws: WireFormatError.invalidLength(48).adding(context: "RecordBatchHeader.batchLength")) {
            try RecordBatchHeader(decoding: shortLength, at: 0)
        }
        let negativeLength = header { $0.setInteger(Int32(-1), at: 8) }
        #expect(throws: WireFormatError.self) { try RecordBatchHeader(decoding: negativeLength, at: 0) }
        let unknownCodec = header { $0.setInteger(Int16(6), at: 21) }
        #expect(throws: WireFormatError.self) { try RecordBatchHeader(decoding: unknownCodec, at: 0) }
        let negativeCount = header { $0.setInteger(Int32(-2), at: 57) }
        #expect(throws: WireFormatError.self) { try RecordBatchHeader(decoding: negativeCount, at: 0) }
        var short = header { _ in }
        short.moveWriterIndex(to: 60)
        let error = #expect(throws: WireFormatError.self) { try RecordBatchHeader(decoding: short, at: 0) }
        #expect(error?.isTruncation == true)
    }

    @Test func crc32cMatchesTheStandardCheckValue() {
        #expect(referenceCRC32C(Array("123456789".utf8)) == 0xE306_9283)
        #expect(CRC32C.checksum(Array("123456789".utf8)) == 0xE306_9283)
    }

    @Test func checksumCoversExactlyBytesFromAttributesToTheEnd() throws {
        var builder = RecordBatchBuilder()
        builder.append(key: ByteBuffer(string: "k"), value: ByteBuffer(string: "value"), timestamp: 5)
        builder.append(key: nil, value: ByteBuffer(string: "second"), timestamp: 6)
        let batch = try builder.build()
        let header = try RecordBatchHeader(decoding: batch, at: 0)
        #expect(header.crc == referenceCRC32C(batch.bytes[21...]))
        try RecordBatch.verifyChecksum(batch, at: 0, header: header)

        // Bytes 0-15 (base offset, length, leader epoch) lie outside the CRC.
        for index in [0, 7, 12, 15] {
            var changed = batch
            changed.setInteger(changed.getInteger(at: index, as: UInt8.self)! ^ 0x40, at: index)
            let changedHeader = try RecordBatchHeader(decoding: changed, at: 0)
            try RecordBatch.verifyChecksum(changed, at: 0, header: changedHeader)
        }
        // Every byte from 21 to the end is inside it.
        for index in [21, 22, 30, 60, 61, batch.readableBytes - 1] {
            var changed = batch
            changed.setInteger(changed.getInteger(at: index, as: UInt8.self)! ^ 0x01, at: index)
            #expect(throws: WireFormatError.self, "byte \(index)") {
                try RecordBatch.verifyChecksum(changed, at: 0, header: header)
            }
        }
    }

    @Test func patchingOffsetAndEpochKeepsTheChecksum() throws {
        var builder = RecordBatchBuilder(compression: .gzip)
        builder.append(key: nil, value: ByteBuffer(string: "a"), timestamp: 100)
        builder.append(key: nil, value: ByteBuffer(string: "b"), timestamp: 101)
        var buffer = ByteBuffer(bytes: [0xAA, 0xBB])
        var batchBytes = try builder.build()
        buffer.writeBuffer(&batchBytes)
        let crcBefore = try RecordBatchHeader(decoding: buffer, at: 2).crc
        buffer.setRecordBatchBaseOffset(1_000_000, at: 2)
        buffer.setRecordBatchPartitionLeaderEpoch(17, at: 2)
        let header = try RecordBatchHeader(decoding: buffer, at: 2)
        #expect(header.baseOffset == 1_000_000 && header.partitionLeaderEpoch == 17 && header.crc == crcBefore)
        #expect(header.lastOffset == 1_000_001)
        try RecordBatch.verifyChecksum(buffer, at: 2, header: header)
        let records = try RecordBatch(buffer, at: 2).decodeRecords(maxDecompressedBytes: 1024)
        #expect(records.map(\.offset) == [1_000_000, 1_000_001])
    }

    @Test func patchingLogAppendTimeRecomputesTheChecksum() throws {
        var builder = RecordBatchBuilder()
        builder.append(key: nil, value: ByteBuffer(string: "a"), timestamp: 100)
        builder.append(key: nil, value: ByteBuffer(string: "b"), timestamp: 250)
        var buffer = try builder.build()
        let before = try RecordBatchHeader(decoding: buffer, at: 0)
        #expect(before.maxTimestamp == 250 && before.timestampType == .createTime)
        buffer.setRecordBatchMaxTimestampAndLogAppendTime(9_999, at: 0)
        let after = try RecordBatchHeader(decoding: buffer, at: 0)
        #expect(after.maxTimestamp == 9_999 && after.timestampType == .logAppendTime)
        #expect(after.crc != before.crc)
        #expect(after.crc == referenceCRC32C(buffer.bytes[21...]))
        try RecordBatch.verifyChecksum(buffer, at: 0, header: after)
        let records = try RecordBatch(buffer).decodeRecords(maxDecompressedBytes: 1024)
        #expect(records.map(\.timestamp) == [9_999, 9_999])
    }
}
