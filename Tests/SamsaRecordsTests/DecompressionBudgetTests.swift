import Foundation
import NIOCore
import Testing

@testable import SamsaRecords

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Small inputs that expand far past the budget ("zip bombs") for every codec.
@Suite("Decompression budget", .serialized)
struct DecompressionBudgetTests {
    static let expansion = 1 << 30  // what each bomb would expand to: 1 GiB
    static let budget = 32 << 20

    /// A compressed input of each codec that decodes to `expansion` zero bytes, built from
    /// repeated members, frames or blocks so making it stays cheap.
    static func bomb(_ codec: CompressionCodec) throws -> ByteBuffer {
        let unit = ByteBuffer(repeating: 0, count: 1 << 20)
        let repeats = expansion / unit.readableBytes
        var bomb = ByteBuffer()
        switch codec {
        case .gzip, .zstd:
            // Concatenated gzip members and zstd frames are both valid streams.
            let member = try codec.compress(unit)
            for _ in 0..<repeats { bomb.writeImmutableBuffer(member) }
        case .lz4:
            // One frame whose 64 KiB blocks all hold the same compressed zeros.
            let frame = try codec.compress(ByteBuffer(repeating: 0, count: 1 << 16))
            let block = frame.getSlice(at: 7, length: frame.readableBytes - 11)!
            bomb.writeImmutableBuffer(frame.getSlice(at: 0, length: 7)!)
            for _ in 0..<(expansion >> 16) { bomb.writeImmutableBuffer(block) }
            bomb.writeInteger(UInt32(0))
        case .snappy:
            let framed = try codec.compress(ByteBuffer(repeating: 0, count: 32 << 10))
            bomb.writeImmutableBuffer(framed.getSlice(at: 0, length: 16)!)
            let block = framed.getSlice(at: 16, length: framed.readableBytes - 16)!
            for _ in 0..<(expansion >> 15) { bomb.writeImmutableBuffer(block) }
        case .none:
            break
        }
        return bomb
    }

    static func peakResidentBytes() -> Int {
        var usage = rusage()
        #if canImport(Darwin)
        getrusage(RUSAGE_SELF, &usage)
        return Int(usage.ru_maxrss)
        #else
        getrusage(__rusage_who_t(RUSAGE_SELF.rawValue), &usage)
        return Int(usage.ru_maxrss) * 1024
        #endif
    }

    @Test(arguments: [CompressionCodec.gzip, .snappy, .lz4, .zstd])
    func bombsStopAtTheBudgetWithinASmallMultipleOfIt(codec: CompressionCodec) throws {
        let bomb = try Self.bomb(codec)
        // Snappy copies cap its ratio near 21:1; the others reach far more.
        #expect(bomb.readableBytes < Self.expansion / (codec == .snappy ? 20 : 100))
        let before = Self.peakResidentBytes()
        let error = #expect(throws: CompressionError.self) {
            try codec.decompress(bomb, maxDecompressedBytes: Self.budget)
        }
        let growth = Self.peakResidentBytes() - before
        #expect(error?.isOverBudget == true, "\(String(describing: error))")
        #expect(error?.description.contains("exceeds the limit of \(Self.budget)") == true)
        // An unbounded decoder would reach 1 GiB here; ours stays within about twice the budget.
        #expect(growth <= 4 * Self.budget, "peak memory grew by \(growth) bytes")
    }

    @Test(arguments: [CompressionCodec.gzip, .snappy, .lz4, .zstd])
    func bombInsideABatchIsACompressionError(codec: CompressionCodec) throws {
        let payload = try codec.compress(ByteBuffer(repeating: 0, count: 4 << 20))
        let batch = makeBatch(records: payload, count: 1, codec: codec)
        let parsed = try RecordBatch(batch)
        try parsed.verifyChecksum()
        let error = #expect(throws: RecordBatchError.self) { try parsed.records(maxDecompressedBytes: 1 << 20) }
        guard case .compression(let compressionError) = error else {
            Issue.record("expected a compression error, got \(String(describing: error))")
            return
        }
        #expect(compressionError.isOverBudget && compressionError.codec == codec)
    }

    @Test func snappyRefusesAHugeDeclaredLengthBeforeAllocating() throws {
        // Preamble 0xFFFFFFFF (4 GiB − 1) followed by a single literal.
        let raw = ByteBuffer(bytes: [0xFF, 0xFF, 0xFF, 0xFF, 0x0F, 0x00, 0x41])
        let error = #expect(throws: CompressionError.self) { try CompressionCodec.snappy.decompress(raw, maxDecompressedBytes: 1 << 20) }
        #expect(error?.isOverBudget == true)
    }

    @Test func lz4RefusesADeclaredContentSizeOverTheBudget() throws {
        // FLG with content size; BD 64 KiB; content size 2^40; correct header checksum.
        var descriptor: [UInt8] = [0x68, 0x40]
        descriptor += withUnsafeBytes(of: UInt64(1 << 40).littleEndian, Array.init)
        var frame = ByteBuffer(bytes: [0x04, 0x22, 0x4D, 0x18] + descriptor)
        frame.writeInteger(UInt8((XXHash32.hash(descriptor) >> 8) & 0xFF))
        frame.writeInteger(UInt32(0))
        let error = #expect(throws: CompressionError.self) { try CompressionCodec.lz4.decompress(frame, maxDecompressedBytes: 1 << 20) }
        #expect(error?.isOverBudget == true)
    }

    @Test(arguments: CompressionCodec.allCases)
    func outputExactlyAtTheBudgetIsAccepted(codec: CompressionCodec) throws {
        var rng = SeededGenerator(seed: 2)
        let data = rng.compressibleBytes(100_000)
        let compressed = try codec.compress(ByteBuffer(bytes: data))
        #expect(try codec.decompress(compressed, maxDecompressedBytes: data.count).bytes == data)
        #expect(throws: CompressionError.self) { try codec.decompress(compressed, maxDecompressedBytes: data.count - 1) }
        #expect(throws: CompressionError.self) { try codec.decompress(compressed, maxDecompressedBytes: 0) }
    }
}
