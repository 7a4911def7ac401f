import NIOCore
import SamsaProtocol
import SamsaRecords
import Testing

@testable import SamsaClient

/// What a fetched partition holds in memory, counted against the consumer's buffer limit.
@Suite("Fetch decoder")
struct FetchDecoderTests {
    private func partitionData(_ batches: [ByteBuffer]) -> FetchResponse.PartitionData {
        var data = FetchResponse.PartitionData()
        var records = ByteBuffer()
        for var batch in batches { records.writeBuffer(&batch) }
        data.records = records
        data.highWatermark = 1_000
        return data
    }

    private func batch(count: Int, valueBytes: Int, compression: CompressionCodec, baseOffset: Int64) throws -> ByteBuffer {
        var builder = RecordBatchBuilder(compression: compression)
        for _ in 0..<count {
            builder.append(key: nil, value: ByteBuffer(repeating: UInt8(ascii: "x"), count: valueBytes), timestamp: 1)
        }
        var bytes = try builder.build()
        bytes.setInteger(baseOffset, at: bytes.readerIndex)
        return bytes
    }

    @Test("a compressed batch counts its decompressed bytes, an uncompressed one its bytes on the wire")
    func heldBytesCountDecompressedData() throws {
        let compressed = try batch(count: 10, valueBytes: 10_000, compression: .gzip, baseOffset: 0)
        let plain = try batch(count: 2, valueBytes: 100, compression: .none, baseOffset: 10)
        #expect(compressed.readableBytes < 1_000, "10 x 10,000 equal bytes compress well")
        let data = partitionData([compressed, plain])
        let decoded = try FetchDecoder.decode(topic: "t", partition: 0, data: data, position: 0, isolation: .readUncommitted)
        #expect(decoded.records.map(\.offset) == Array(0..<12))
        #expect(decoded.next == 12)
        let wire = compressed.readableBytes + plain.readableBytes
        #expect(decoded.bytes > wire + 100_000, "the 100,000 decompressed value bytes count")
        #expect(decoded.bytes < wire + 101_000)

        let uncompressedOnly = try FetchDecoder.decode(
            topic: "t", partition: 0, data: partitionData([plain]), position: 10, isolation: .readUncommitted)
        #expect(uncompressedOnly.bytes == plain.readableBytes)
    }
}
