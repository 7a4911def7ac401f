import NIOCore
import SamsaBinary
import Testing

@testable import SamsaRecords

@Suite("Record batch builder and records")
struct RecordBatchBuilderTests {
    struct Input: Equatable {
        var key: [UInt8]?
        var value: [UInt8]?
        var headers: [(String, [UInt8]?)]
        var timestamp: Int64

        static func == (lhs: Input, rhs: Input) -> Bool {
            lhs.key == rhs.key && lhs.value == rhs.value && lhs.timestamp == rhs.timestamp
                && lhs.headers.map(\.0) == rhs.headers.map(\.0) && lhs.headers.map(\.1) == rhs.headers.map(\.1)
        }
    }

    static func randomInputs(_ count: Int, _ rng: inout SeededGenerator) -> [Input] {
        (0..<count).map { _ in
            func field() -> [UInt8]? {
                switch Int.random(in: 0..<4, using: &rng) {
                case 0: return nil
                case 1: return []
                case 2: return rng.bytes(Int.random(in: 1..<40, using: &rng))
                default: return rng.compressibleBytes(Int.random(in: 100..<3000, using: &rng))
                }
            }
            let headers: [(String, [UInt8]?)] = (0..<Int.random(in: 0..<4, using: &rng)).map { index in
                ("header-\(index)-ü", Bool.random(using: &rng) ? nil : rng.bytes(Int.random(in: 0..<10, using: &rng)))
            }
            return Input(
                key: field(), value: field(), headers: headers,
                timestamp: Int64.random(in: 1_600_000_000_000..<1_700_000_000_000, using: &rng))
        }
    }

    @Test(arguments: CompressionCodec.allCases)
    func randomRecordsRoundTrip(codec: CompressionCodec) throws {
        var rng = SeededGenerator(seed: 11 + UInt64(codec.rawValue))
        for round in 0..<20 {
            let inputs = Self.randomInputs(Int.random(in: 1..<60, using: &rng), &rng)
            var builder = RecordBatchBuilder(compression: codec)
            builder.producerId = 99
            builder.producerEpoch = 3
            builder.baseSequence = Int32(round * 100)
            builder.isTransactional = round % 2 == 0
            for input in inputs {
                builder.append(
                    key: input.key.map { ByteBuffer(bytes: $0) }, value: input.value.map { ByteBuffer(bytes: $0) },
                    headers: input.headers.map { RecordHeader(key: $0.0, value: $0.1.map { ByteBuffer(bytes: $0) }) },
                    timestamp: input.timestamp)
            }
            let bytes = try builder.build()
            let batch = try RecordBatch(bytes)
            try batch.verifyChecksum()
            let header = batch.header
            #expect(header.totalSize == bytes.readableBytes)
            #expect(header.recordCount == Int32(inputs.count) && header.lastOffsetDelta == Int32(inputs.count - 1))
            #expect(header.baseTimestamp == inputs[0].timestamp)
            #expect(header.maxTimestamp == inputs.map(\.timestamp).max())
            #expect(header.producerId == 99 && header.producerEpoch == 3 && header.baseSequence == Int32(round * 100))
            #expect(header.isTransactional == (round % 2 == 0) && !header.isControl)
            #expect(header.compression == codec)
            let decoded = try batch.decodeRecords(maxDecompressedBytes: 1 << 24)
            #expect(decoded.map(\.offset) == Array(0..<Int64(inputs.count)))
            let back = decoded.map { record in
                Input(
                    key: record.key?.bytes, value: record.value?.bytes,
                    headers: record.headers.map { ($0.key, $0.value?.bytes) }, timestamp: record.timestamp)
            }
            #expect(back == inputs)
        }
    }

    @Test func compressionShrinksCompressibleBatches() throws {
        var rng = SeededGenerator(seed: 5)
        for codec in CompressionCodec.allCases where codec != .none {
            var builder = RecordBatchBuilder(compression: codec)
            for _ in 0..<16 { builder.append(key: nil, value: ByteBuffer(bytes: rng.compressibleBytes(1024)), timestamp: 1) }
            let size = try builder.build().readableBytes
            #expect(size < builder.uncompressedSize / 2, "\(codec): \(size) of \(builder.uncompressedSize)")
        }
    }

    @Test func uncompressedRecordsAreSlicesOfTheBatch() throws {
        var builder = RecordBatchBuilder()
        builder.append(key: ByteBuffer(string: "key"), value: ByteBuffer(string: "value"), timestamp: 1)
        let bytes = try builder.build()
        var records = try RecordBatch(bytes).records(maxDecompressedBytes: 0)
        let record = try #require(try records.next())
        let value = try #require(record.value)
        // A slice shares storage: its bytes are read through the original buffer's memory.
        let sameStorage = bytes.withUnsafeReadableBytes { batchBytes in
            value.withUnsafeReadableBytes { valueBytes in
                valueBytes.baseAddress! >= batchBytes.baseAddress! && valueBytes.baseAddress! < batchBytes.baseAddress! + batchBytes.count
            }
        }
        #expect(sameStorage)
        #expect(try records.next() == nil)
    }

    @Test func recordEncodingMatchesKafkasLayout() throws {
        // Record with key "a", value null, one header ("h" -> null), timestamp delta 1, offset delta 2.
        let record = Record(
            offsetDelta: 2, timestampDelta: 1, key: ByteBuffer(string: "a"), value: nil, headers: [RecordHeader(key: "h", value: nil)])
        var buffer = ByteBuffer()
        record.write(to: &buffer)
        // length 10 (zig-zag 20 = 0x14), attributes 0, ts 1 -> 0x02, offset 2 -> 0x04, key len 1 -> 0x02 'a',
        // value -1 -> 0x01, 1 header -> 0x02, key len 1 -> 0x02 'h', value -1 -> 0x01
        #expect(buffer.bytes == [0x14, 0x00, 0x02, 0x04, 0x02, 0x61, 0x01, 0x02, 0x02, 0x68, 0x01])
        #expect(record.encodedSize == buffer.readableBytes)
        #expect(try Record.read(from: &buffer) == record)
        #expect(buffer.readableBytes == 0)
    }

    @Test(arguments: [ControlRecordType.abort, .commit])
    func controlBatchesRoundTrip(type: ControlRecordType) throws {
        let marker = ControlRecord(type: type, coordinatorEpoch: 12)
        let bytes = marker.buildBatch(producerId: 5000, producerEpoch: 4, timestamp: 1_700_000_000_000, baseOffset: 77)
        let batch = try RecordBatch(bytes)
        try batch.verifyChecksum()
        #expect(batch.header.isControl && batch.header.isTransactional)
        #expect(batch.header.attributes.rawValue == 0x30)
        #expect(batch.header.producerId == 5000 && batch.header.producerEpoch == 4 && batch.header.baseSequence == -1)
        #expect(batch.header.recordCount == 1 && batch.header.baseOffset == 77)
        #expect(try batch.controlRecord() == marker)
        let record = try #require(batch.decodeRecords(maxDecompressedBytes: 1024).first)
        #expect(record.key?.bytes == [0, 0, 0, UInt8(type.rawValue)])
        #expect(record.value?.bytes == [0, 0, 0, 0, 0, 12])
    }

    @Test func controlRecordParsingChecksLengths() throws {
        #expect(throws: WireFormatError.self) {
            try ControlRecord(Record(offsetDelta: 0, timestampDelta: 0, key: ByteBuffer(bytes: [0, 0, 0]), value: nil))
        }
        #expect(throws: WireFormatError.self) {
            try ControlRecord(
                Record(offsetDelta: 0, timestampDelta: 0, key: ByteBuffer(bytes: [0, 0, 0, 1]), value: ByteBuffer(bytes: [0, 0])))
        }
        // KRaft-only types parse without a marker value.
        let leaderChange = try ControlRecord(Record(offsetDelta: 0, timestampDelta: 0, key: ByteBuffer(bytes: [0, 0, 0, 2]), value: nil))
        #expect(leaderChange.type.rawValue == 2)
        var builder = RecordBatchBuilder()
        builder.append(key: nil, value: nil, timestamp: 0)
        #expect(try RecordBatch(builder.build()).controlRecord() == nil)
    }
}
