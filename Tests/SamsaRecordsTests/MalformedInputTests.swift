import NIOCore
import SamsaBinary
import Testing

@testable import SamsaRecords

/// Hostile and broken input: every case must end in a thrown error, never a trap.
@Suite("Malformed input")
struct MalformedInputTests {
    static func encoded(_ records: [Record]) -> ByteBuffer {
        var buffer = ByteBuffer()
        for record in records { record.write(to: &buffer) }
        return buffer
    }

    static let two = encoded([
        Record(offsetDelta: 0, timestampDelta: 0, key: ByteBuffer(string: "k"), value: ByteBuffer(string: "v")),
        Record(offsetDelta: 1, timestampDelta: 1, key: nil, value: ByteBuffer(string: "w")),
    ])

    func iterate(_ batch: ByteBuffer, budget: Int = 1 << 20) throws -> [BatchRecord] {
        let parsed = try RecordBatch(batch)
        try parsed.verifyChecksum()
        return try parsed.decodeRecords(maxDecompressedBytes: budget)
    }

    @Test func wellFormedBaseline() throws {
        #expect(try iterate(makeBatch(records: Self.two, count: 2)).count == 2)
    }

    @Test func recordCountsThatLie() throws {
        let tooMany = #expect(throws: RecordBatchError.self) { try iterate(makeBatch(records: Self.two, count: 3)) }
        #expect(tooMany?.description.contains("declares 3 records") == true)
        let tooFew = #expect(throws: RecordBatchError.self) { try iterate(makeBatch(records: Self.two, count: 1)) }
        #expect(tooFew?.description.contains("bytes left") == true)
        // Compressed batches are checked the same way after decompression.
        let compressed = try CompressionCodec.zstd.compress(Self.two)
        #expect(throws: RecordBatchError.self) { try iterate(makeBatch(records: compressed, count: 5, codec: .zstd)) }
        #expect(throws: RecordBatchError.self) { try iterate(makeBatch(records: compressed, count: 1, codec: .zstd)) }
        #expect(try iterate(makeBatch(records: compressed, count: 2, codec: .zstd)).count == 2)
    }

    @Test func lyingRecordLengths() throws {
        var longer = Self.two
        longer.setInteger(UInt8(0x7E), at: 0)  // first record claims 63 bytes
        #expect(throws: RecordBatchError.self) { try iterate(makeBatch(records: longer, count: 2)) }
        var shorter = Self.two
        shorter.setInteger(UInt8(0x0A), at: 0)  // claims 5 bytes: its fields run past them
        #expect(throws: RecordBatchError.self) { try iterate(makeBatch(records: shorter, count: 2)) }
        var negative = Self.two
        negative.setInteger(UInt8(0x03), at: 0)  // zig-zag −2
        #expect(throws: RecordBatchError.self) { try iterate(makeBatch(records: negative, count: 2)) }
    }

    @Test func lyingFieldLengths() throws {
        // Record: [len, attrs, tsDelta, offDelta, keyLen, key..., valueLen, value..., headerCount, ...]
        for (offset, value) in [(4, UInt8(0x40)), (4, 0x05), (6, 0x40), (6, 0x05), (8, 0x7E), (8, 0x01)] {
            var bad = Self.two
            bad.setInteger(value, at: offset)
            #expect(throws: RecordBatchError.self, "byte \(offset) = \(value)") { try iterate(makeBatch(records: bad, count: 2)) }
        }
        // A header count far beyond the bytes left is refused before allocating.
        var manyHeaders = ByteBuffer()
        manyHeaders.writeVarint(12)
        manyHeaders.writeBytes([0, 0, 0, 1, 1])
        manyHeaders.writeVarint(Int32.max)
        manyHeaders.writeBytes([0, 0])
        #expect(throws: RecordBatchError.self) { try iterate(makeBatch(records: manyHeaders, count: 1)) }
        // A null header key is invalid.
        let nullKey = Self.encoded([
            Record(offsetDelta: 0, timestampDelta: 0, key: nil, value: nil, headers: [RecordHeader(key: "x", value: nil)])
        ])
        var patched = nullKey
        patched.setInteger(UInt8(0x01), at: patched.writerIndex - 3)
        #expect(throws: RecordBatchError.self) { try iterate(makeBatch(records: patched, count: 1)) }
    }

    @Test func overLongVarints() throws {
        var record = ByteBuffer(bytes: [0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x01])
        let error = #expect(throws: RecordBatchError.self) { try iterate(makeBatch(records: record, count: 1)) }
        #expect(error == .wireFormat(WireFormatError.varintTooLong.adding(context: "RecordBatch.records[0]")))
        // An 11-byte timestamp delta inside an otherwise sane record.
        record = ByteBuffer()
        record.writeVarint(16)
        record.writeInteger(UInt8(0))
        record.writeBytes([UInt8](repeating: 0xFF, count: 10) + [0x01])
        record.writeBytes([0, 1, 1, 0])
        #expect(throws: RecordBatchError.self) { try iterate(makeBatch(records: record, count: 1)) }
    }

    @Test func badChecksums() throws {
        var batch = makeBatch(records: Self.two, count: 2)
        batch.setInteger(UInt32(0x1234_5678), at: 17, endianness: .big)
        let error = #expect(throws: WireFormatError.self) { try RecordBatch(batch).verifyChecksum() }
        #expect(error?.description.contains("checksum mismatch") == true)
    }

    @Test(arguments: CompressionCodec.allCases.filter { $0 != .none })
    func corruptCompressedDataIsAnError(codec: CompressionCodec) throws {
        var rng = SeededGenerator(seed: 21)
        let data = rng.compressibleBytes(50_000)
        let good = try codec.compress(ByteBuffer(bytes: data))
        // Deterministic damage that every codec must notice.
        let truncated = good.getSlice(at: 0, length: good.readableBytes / 2)!
        let garbage = ByteBuffer(bytes: rng.bytes(200))
        // (A lone zero byte is valid raw snappy for empty data, so it is only corrupt elsewhere.)
        for bad in [truncated, garbage, ByteBuffer()] + (codec == .snappy ? [] : [ByteBuffer(bytes: [0])]) {
            let error = #expect(throws: CompressionError.self) { try codec.decompress(bad, maxDecompressedBytes: 1 << 20) }
            #expect(error?.codec == codec)
        }
        // Random damage: an error or some output within the budget, never a trap.
        var failures = 0
        for _ in 0..<300 {
            var damaged = good
            for _ in 0..<Int.random(in: 1...4, using: &rng) {
                let index = Int.random(in: 0..<damaged.readableBytes, using: &rng)
                damaged.setInteger(UInt8.random(in: 0...255, using: &rng), at: index)
            }
            do {
                let output = try codec.decompress(damaged, maxDecompressedBytes: 60_000)
                #expect(output.readableBytes <= 60_000)
            } catch {
                failures += 1
            }
        }
        #expect(failures > 0)
    }

    @Test func fuzzedBatchesNeverTrap() throws {
        var rng = SeededGenerator(seed: 99)
        for codec in CompressionCodec.allCases {
            var builder = RecordBatchBuilder(compression: codec)
            for index in 0..<20 {
                builder.append(
                    key: ByteBuffer(string: "key-\(index)"), value: ByteBuffer(bytes: rng.compressibleBytes(200)),
                    headers: [RecordHeader(key: "h", value: nil)], timestamp: Int64(index))
            }
            let good = try builder.build()
            #expect(try decodeEverything(good) == 20)
            var errors = 0
            for _ in 0..<300 {
                var damaged = good
                let index = Int.random(in: 0..<damaged.readableBytes, using: &rng)
                damaged.setInteger(UInt8.random(in: 0...255, using: &rng), at: index)
                // Fix the CRC so damage past it reaches the record and codec decoders.
                if Bool.random(using: &rng), let crc = RecordBatch.computeChecksum(damaged, at: 0) {
                    damaged.setInteger(crc, at: 17, endianness: .big)
                }
                do { try decodeEverything(damaged) } catch { errors += 1 }
            }
            #expect(errors > 0, "\(codec)")
        }
    }
}
