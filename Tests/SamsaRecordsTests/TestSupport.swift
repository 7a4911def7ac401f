import Foundation
import NIOCore
import SamsaBinary
import Testing

@testable import SamsaRecords

/// A small deterministic generator (SplitMix64), so random tests reproduce exactly.
struct SeededGenerator: RandomNumberGenerator {
    var state: UInt64

    init(seed: UInt64) {
        state = seed
    }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    mutating func bytes(_ count: Int) -> [UInt8] {
        (0..<count).map { _ in UInt8.random(in: 0...255, using: &self) }
    }

    /// Text-like bytes from a small vocabulary: compresses well, like real record values.
    mutating func compressibleBytes(_ count: Int) -> [UInt8] {
        let words = ["order", "created", "user", "42", "eu-west", "payment", "ok", "retry", "{", "}"].map { Array($0.utf8) }
        var out: [UInt8] = []
        out.reserveCapacity(count + 16)
        while out.count < count {
            out += words.randomElement(using: &self)!
            out.append(0x20)
        }
        return Array(out.prefix(count))
    }
}

/// CRC-32C computed bit by bit, independent of the library's table and hardware paths.
func referenceCRC32C(_ bytes: some Sequence<UInt8>) -> UInt32 {
    var crc: UInt32 = 0xFFFF_FFFF
    for byte in bytes {
        crc ^= UInt32(byte)
        for _ in 0..<8 {
            crc = crc & 1 == 1 ? (crc >> 1) ^ 0x82F6_3B78 : crc >> 1
        }
    }
    return crc ^ 0xFFFF_FFFF
}

enum Vectors {
    static func url(_ name: String) throws -> URL {
        let directory = try #require(Bundle.module.url(forResource: "Vectors", withExtension: nil))
        return directory.appendingPathComponent(name)
    }

    static func bytes(_ name: String) throws -> [UInt8] {
        Array(try Data(contentsOf: url(name)))
    }

    static func buffer(_ name: String) throws -> ByteBuffer {
        ByteBuffer(bytes: try bytes(name))
    }

    static func expected() throws -> [String: Any] {
        let object = try JSONSerialization.jsonObject(with: Data(contentsOf: url("expected.json")))
        return try #require(object as? [String: Any])
    }
}

extension ByteBuffer {
    var bytes: [UInt8] { Array(readableBytesView) }
}

/// A batch with the given raw record bytes (already encoded, uncompressed unless `codec` says
/// otherwise) and a correct CRC, for tests that need malformed records inside a valid batch.
func makeBatch(records: ByteBuffer, count: Int32, codec: CompressionCodec = .none, lastOffsetDelta: Int32? = nil) -> ByteBuffer {
    let header = RecordBatchHeader(
        batchLength: Int32(RecordBatchHeader.size - RecordBatchHeader.lengthFieldEnd + records.readableBytes),
        crc: 0,
        attributes: RecordBatchAttributes(compression: codec),
        lastOffsetDelta: lastOffsetDelta ?? count - 1,
        baseTimestamp: 1000,
        maxTimestamp: 1000,
        recordCount: count)
    var batch = ByteBuffer()
    header.write(to: &batch)
    batch.writeImmutableBuffer(records)
    let crc = RecordBatch.computeChecksum(batch, at: 0)!
    batch.setInteger(crc, at: 17, endianness: .big)
    return batch
}

/// Decodes every batch and record in `buffer`, verifying CRCs; used to check hostile input
/// only ever throws.
@discardableResult
func decodeEverything(_ buffer: ByteBuffer, budget: Int = 1 << 20) throws -> Int {
    var scanner = RecordBatchScanner(buffer, verifiesChecksums: true)
    var count = 0
    while let batch = try scanner.nextBatch() {
        var records = try batch.records(maxDecompressedBytes: budget)
        while try records.next() != nil { count += 1 }
    }
    return count
}
