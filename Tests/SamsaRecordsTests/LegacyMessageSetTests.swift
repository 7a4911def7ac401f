import NIOCore
import SamsaBinary
import Testing

@testable import SamsaRecords

/// Magic 0 and 1 message sets: decoding (wrappers of every legacy codec, relative offsets),
/// conversion to record batches v2 and back, and malformed input.
@Suite("LegacyMessageSet")
struct LegacyMessageSetTests {
    /// One message built by hand from the protocol guide.
    private func message(
        offset: Int64, magic: Int8, codec: CompressionCodec = .none, logAppendTime: Bool = false, timestamp: Int64 = -1,
        key: [UInt8]?, value: [UInt8]?
    ) -> ByteBuffer {
        var body = ByteBuffer()
        body.writeInteger(magic)
        body.writeInteger(codec.rawValue | (logAppendTime ? 0x08 : 0))
        if magic == 1 { body.writeInteger(timestamp) }
        for bytes in [key, value] {
            if let bytes {
                body.writeInteger(Int32(bytes.count))
                body.writeBytes(bytes)
            } else {
                body.writeInteger(Int32(-1))
            }
        }
        var out = ByteBuffer()
        out.writeInteger(offset)
        out.writeInteger(Int32(4 + body.readableBytes))
        out.writeInteger(body.withUnsafeReadableBytes { CRC32.checksum($0) })
        out.writeBuffer(&body)
        return out
    }

    private func text(_ buffer: ByteBuffer?) -> String? { buffer.map { String(buffer: $0) } }

    @Test("CRC-32 is zlib's: the check value of \"123456789\"")
    func crcCheckValue() {
        let bytes = Array("123456789".utf8)
        #expect(bytes.withUnsafeBytes { CRC32.checksum($0) } == 0xCBF4_3926)
    }

    @Test("golden magic 0 message: bytes as the protocol guide lays them out")
    func goldenMagic0() throws {
        let built = message(offset: 7, magic: 0, key: Array("k".utf8), value: Array("v".utf8))
        // offset 7, size 20, crc, magic 0, attributes 0, key len 1 "k", value len 1 "v"
        let expectedBody: [UInt8] = [0, 0, 0, 0, 0, 1, 0x6B, 0, 0, 0, 1, 0x76]
        let crc = expectedBody.withUnsafeBytes { CRC32.checksum($0) }
        var expected = ByteBuffer()
        expected.writeInteger(Int64(7))
        expected.writeInteger(Int32(16))
        expected.writeInteger(crc)
        expected.writeBytes(expectedBody)
        #expect(built == expected)
        let decoded = try LegacyMessageSet.messages(in: built, maxDecompressedBytes: 1 << 20)
        #expect(decoded.map(\.offset) == [7])
        #expect(decoded.first?.timestamp == -1)
        #expect(text(decoded.first?.key) == "k" && text(decoded.first?.value) == "v")
    }

    @Test("wrappers of every legacy codec open, with relative inner offsets in magic 1", arguments: [CompressionCodec.gzip, .snappy, .lz4])
    func wrappers(codec: CompressionCodec) throws {
        var inner = ByteBuffer()
        for index in 0..<3 {
            var one = message(
                offset: Int64(index), magic: 1, timestamp: 1000 + Int64(index), key: Array("k\(index)".utf8), value: Array("v\(index)".utf8)
            )
            inner.writeBuffer(&one)
        }
        let compressed = try codec.compress(Array(inner.readableBytesView))
        // The wrapper carries the absolute offset of the last inner message.
        let wrapper = message(offset: 42, magic: 1, codec: codec, timestamp: 1002, key: nil, value: compressed)
        let decoded = try LegacyMessageSet.messages(in: wrapper, maxDecompressedBytes: 1 << 20)
        #expect(decoded.map(\.offset) == [40, 41, 42])
        #expect(decoded.map { text($0.value) } == ["v0", "v1", "v2"])
        #expect(decoded.map(\.timestamp) == [1000, 1001, 1002])
        #expect(decoded.allSatisfy { $0.codec == codec })
        let (batch, count) = try LegacyMessageSet.convertToRecordBatch(wrapper, maxDecompressedBytes: 1 << 20)
        #expect(count == 3)
        let parsed = try RecordBatch(batch)
        #expect(parsed.header.compression == codec)
        let records = try parsed.decodeRecords(maxDecompressedBytes: 1 << 20)
        #expect(records.map { text($0.key) } == ["k0", "k1", "k2"])
        #expect(records.map(\.timestamp) == [1000, 1001, 1002])
        // A wrapper bigger than the budget is refused.
        #expect(throws: LegacyMessageError.self) { try LegacyMessageSet.messages(in: wrapper, maxDecompressedBytes: 10) }
    }

    @Test("v2 batches down-convert to magic 0 and 1 and back, keeping keys, values, nulls and timestamps")
    func roundTrip() throws {
        var builder = RecordBatchBuilder(compression: .gzip)
        builder.baseOffset = 100
        builder.append(key: ByteBuffer(string: "a"), value: ByteBuffer(string: "one"), timestamp: 5000)
        builder.append(key: nil, value: nil, timestamp: 5001)
        builder.append(key: ByteBuffer(string: "c"), value: ByteBuffer(), timestamp: 5002)
        var batches = try builder.build()
        var control = ControlRecord(type: .commit, coordinatorEpoch: 0).buildBatch(
            producerId: 1, producerEpoch: 0, timestamp: 6000, baseOffset: 103)
        batches.writeBuffer(&control)
        // A cut-off batch at the end is left out.
        var cut = RecordBatchBuilder()
        cut.append(key: nil, value: ByteBuffer(string: "x"), timestamp: 1)
        batches.writeImmutableBuffer(try cut.build().getSlice(at: 0, length: 30)!)
        for magic: Int8 in [0, 1] {
            let set = try LegacyMessageSet.downConvert(batches, toMagic: magic, maxBytes: 1 << 20, maxDecompressedBytes: 1 << 20)
            let decoded = try LegacyMessageSet.messages(in: set, maxDecompressedBytes: 1 << 20)
            #expect(decoded.map(\.offset) == [100, 101, 102], "control batch left out, magic \(magic)")
            #expect(decoded.allSatisfy { $0.magic == magic && $0.codec == .none })
            #expect(decoded.map { text($0.key) } == ["a", nil, "c"])
            #expect(decoded.map { text($0.value) } == ["one", nil, ""])
            #expect(decoded.map(\.timestamp) == (magic == 1 ? [5000, 5001, 5002] : [-1, -1, -1]))
            let back = try RecordBatch(try LegacyMessageSet.convertToRecordBatch(set, maxDecompressedBytes: 1 << 20).batch)
            #expect(try back.decodeRecords(maxDecompressedBytes: 1 << 20).map { text($0.value) } == ["one", nil, ""])
        }
    }

    @Test("down-conversion stops before maxBytes, but always includes the first message")
    func maxBytes() throws {
        var builder = RecordBatchBuilder()
        for index in 0..<4 { builder.append(key: nil, value: ByteBuffer(repeating: UInt8(index), count: 100), timestamp: 1) }
        let batch = try builder.build()
        let one = try LegacyMessageSet.downConvert(batch, toMagic: 1, maxBytes: 1, maxDecompressedBytes: 1 << 20)
        #expect(try LegacyMessageSet.messages(in: one, maxDecompressedBytes: 1 << 20).count == 1)
        let two = try LegacyMessageSet.downConvert(batch, toMagic: 1, maxBytes: 2 * 134 + 10, maxDecompressedBytes: 1 << 20)
        #expect(try LegacyMessageSet.messages(in: two, maxDecompressedBytes: 1 << 20).count == 2)
        #expect(two.readableBytes <= 2 * 134 + 10)
    }

    @Test("malformed sets are errors at every cut and every flipped byte, never a crash")
    func malformed() throws {
        var set = message(offset: 0, magic: 1, timestamp: 9, key: Array("key".utf8), value: Array("value".utf8))
        let secondStart = set.readableBytes
        var second = message(offset: 1, magic: 0, key: nil, value: Array("second".utf8))
        set.writeBuffer(&second)
        // Cut anywhere but between the two messages.
        for cut in 1..<set.readableBytes where cut != secondStart {
            #expect(throws: LegacyMessageError.self) {
                try LegacyMessageSet.messages(in: set.getSlice(at: 0, length: cut)!, maxDecompressedBytes: 1 << 20)
            }
            // Fetched data may end in a cut message: the whole ones before it are read.
            let partial = try LegacyMessageSet.messages(
                in: set.getSlice(at: 0, length: cut)!, allowsTrailingPartialMessage: true, maxDecompressedBytes: 1 << 20)
            #expect(partial.count <= 1)
        }
        // Every byte but the offsets, which no CRC covers.
        for index in 8..<set.readableBytes where !(secondStart..<secondStart + 8).contains(index) {
            var damaged = set
            damaged.setInteger(damaged.getInteger(at: index, as: UInt8.self)! ^ 0x40, at: index)
            #expect(throws: LegacyMessageError.self, "flipped byte \(index)") {
                try LegacyMessageSet.messages(in: damaged, maxDecompressedBytes: 1 << 20)
            }
        }
        #expect(throws: LegacyMessageError.empty) { try LegacyMessageSet.convertToRecordBatch(ByteBuffer(), maxDecompressedBytes: 1 << 20) }
        let magic2 = message(offset: 0, magic: 2, key: nil, value: nil)
        #expect(throws: LegacyMessageError.unsupportedMagic(2, offset: 0)) {
            try LegacyMessageSet.messages(in: magic2, maxDecompressedBytes: 1 << 20)
        }
    }

    @Test("a compressed wrapper inside a compressed wrapper is refused")
    func nested() throws {
        let innermost = message(offset: 0, magic: 1, timestamp: 1, key: nil, value: Array("x".utf8))
        let inner = message(
            offset: 0, magic: 1, codec: .gzip, timestamp: 1, key: nil,
            value: try CompressionCodec.gzip.compress(Array(innermost.readableBytesView)))
        let outer = message(
            offset: 0, magic: 1, codec: .gzip, timestamp: 1, key: nil,
            value: try CompressionCodec.gzip.compress(Array(inner.readableBytesView)))
        #expect(throws: LegacyMessageError.nestedWrapper(offset: 0)) {
            try LegacyMessageSet.messages(in: outer, maxDecompressedBytes: 1 << 20)
        }
    }
}
