import Foundation
import NIOCore
import Testing

@testable import SamsaRecords

/// Batches written by kafka-python's producer-side builder, one per codec.
@Suite("Batches from a real client")
struct ClientBatchTests {
    @Test(arguments: ["none", "gzip", "snappy", "lz4", "zstd"])
    func decodesKafkaPythonBatches(codec: String) throws {
        let expected = try Vectors.expected()
        let batches = try #require(expected["batches"] as? [String: [String: Int]])
        let records = try #require(expected["records"] as? [[String: Any]])
        let bytes = try Vectors.buffer("batch-\(codec).bin")

        var scanner = RecordBatchScanner(bytes, verifiesChecksums: true)
        let batch = try #require(try scanner.nextBatch())
        #expect(try scanner.next() == nil)
        #expect(batch.header.compression == CompressionCodec(name: codec))
        #expect(Int(batch.header.crc) == batches[codec]?["crc"])
        #expect(batch.header.totalSize == batches[codec]?["size"])
        #expect(batch.header.producerId == 1234 && batch.header.producerEpoch == 5 && batch.header.baseSequence == 77)
        #expect(batch.header.baseTimestamp == 1_700_000_000_000 && batch.header.maxTimestamp == 1_700_000_000_100)

        let decoded = try batch.decodeRecords(maxDecompressedBytes: 1 << 20)
        #expect(decoded.count == records.count)
        for (record, want) in zip(decoded, records) {
            #expect(record.offset == Int64(want["offsetDelta"] as! Int))
            #expect(record.timestamp == Int64(want["timestamp"] as! Int))
            #expect(record.key.map(hex) == want["key"] as? String)
            #expect(record.value.map(hex) == want["value"] as? String)
            let headers = want["headers"] as! [[Any]]
            #expect(record.headers.map(\.key) == headers.map { $0[0] as! String })
            #expect(record.headers.map { $0.value.map(hex) } == headers.map { $0[1] as? String })
        }
    }

    @Test func rebuildsIdenticalUncompressedBytes() throws {
        // kafka-python writes leader epoch 0; with the same fields our builder writes the same bytes.
        let original = try Vectors.buffer("batch-none.bin")
        let decoded = try RecordBatch(original).decodeRecords(maxDecompressedBytes: 1 << 20)
        var builder = RecordBatchBuilder()
        builder.partitionLeaderEpoch = 0
        builder.producerId = 1234
        builder.producerEpoch = 5
        builder.baseSequence = 77
        for record in decoded {
            builder.append(key: record.key, value: record.value, headers: record.headers, timestamp: record.timestamp)
        }
        #expect(try builder.build() == original)
    }

    private func hex(_ buffer: ByteBuffer) -> String {
        buffer.bytes.map { String(format: "%02x", $0) }.joined()
    }
}
