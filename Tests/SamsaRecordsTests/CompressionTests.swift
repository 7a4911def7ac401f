import NIOCore
import SamsaBinary
import Testing

@testable import SamsaRecords

@Suite("Compression codecs")
struct CompressionTests {
    static let codecs: [CompressionCodec] = [.gzip, .snappy, .lz4, .zstd]

    @Test func systemLibrariesLoad() {
        for library in SystemCompressionLibrary.allCases {
            #expect(library.isAvailable, "\(library.fileName)")
        }
    }

    @Test(arguments: codecs)
    func randomAndCompressibleDataRoundTrip(codec: CompressionCodec) throws {
        var rng = SeededGenerator(seed: 3)
        let sizes = [0, 1, 3, 15, 16, 17, 100, 4096, 65_535, 65_536, 65_537, 200_000]
        for size in sizes {
            for data in [rng.bytes(size), rng.compressibleBytes(size), [UInt8](repeating: 7, count: size)] {
                let compressed = try codec.compress(data)
                let back = try codec.decompress(compressed, maxDecompressedBytes: size)
                #expect(back == data, "\(codec) size \(size)")
            }
        }
    }

    @Test(arguments: codecs)
    func compressibleDataShrinks(codec: CompressionCodec) throws {
        var rng = SeededGenerator(seed: 4)
        let data = rng.compressibleBytes(100_000)
        let compressed = try codec.compress(data)
        #expect(compressed.count < data.count / 2, "\(codec): \(compressed.count)")
    }

    @Test func rawSnappyRoundTripsAndUsesCopies() throws {
        var rng = SeededGenerator(seed: 8)
        for size in [0, 5, 20, 1000, 70_000, 300_000] {
            let data = rng.compressibleBytes(size)
            let raw = CompressionCodec.compressRawSnappy(ByteBuffer(bytes: data))
            #expect(!SnappyDecoder.isXerialFramed(raw))
            #expect(try CompressionCodec.snappy.decompress(raw, maxDecompressedBytes: size).bytes == data)
            if size >= 1000 { #expect(raw.readableBytes < size / 2) }
        }
        // Long runs need copies longer than 64 bytes and overlapping copies (offset 1).
        let run = [UInt8](repeating: 0x61, count: 10_000)
        let raw = CompressionCodec.compressRawSnappy(ByteBuffer(bytes: run))
        #expect(raw.readableBytes < 600)
        #expect(try CompressionCodec.snappy.decompress(raw, maxDecompressedBytes: run.count).bytes == run)
    }

    @Test func lz4FramesAreWhatJavaWrites() throws {
        let data = [UInt8](repeating: 1, count: 70_000)
        let frame = try CompressionCodec.lz4.compress(data)
        #expect(Array(frame.prefix(4)) == [0x04, 0x22, 0x4D, 0x18])
        #expect(frame[4] == 0x60 && frame[5] == 0x40)  // version 1, independent blocks; 64 KiB blocks
        #expect(frame[6] == UInt8((XXHash32.hash([0x60, 0x40]) >> 8) & 0xFF))
        #expect(Array(frame.suffix(4)) == [0, 0, 0, 0])
        // Incompressible input is stored in uncompressed blocks (high bit of the size set).
        var rng = SeededGenerator(seed: 1)
        let noise = rng.bytes(1000)
        let stored = try CompressionCodec.lz4.compress(noise)
        #expect(stored[10] & 0x80 != 0 && stored.count == 7 + 4 + 1000 + 4)
        #expect(try CompressionCodec.lz4.decompress(stored, maxDecompressedBytes: 1000) == noise)
    }

    @Test func gzipStreamsAreRFC1952() throws {
        let compressed = try CompressionCodec.gzip.compress(Array("hello".utf8))
        #expect(Array(compressed.prefix(3)) == [0x1F, 0x8B, 0x08])
    }

    @Test func xxHash32MatchesTheReference() throws {
        let expected = try #require(Vectors.expected()["xxh32"] as? [String: Int])
        #expect(XXHash32.hash([]) == 0x02CC_5D05)
        #expect(Int(XXHash32.hash(Array("abc".utf8))) == expected["abc"])
        #expect(Int(XXHash32.hash(try Vectors.bytes("payload.bin"))) == expected["payload.bin"])
    }

    @Test func crc32cMatchesAnIndependentImplementation() throws {
        let expected = try #require(Vectors.expected()["crc32c"] as? [String: Int])
        let payload = try Vectors.bytes("payload.bin")
        #expect(Int(CRC32C.checksum(payload)) == expected["payload.bin"])
        #expect(referenceCRC32C(payload) == CRC32C.checksum(payload))
    }

    @Test(arguments: [
        ("gzip.bin", CompressionCodec.gzip), ("gzip-concatenated.bin", .gzip),
        ("snappy-raw.bin", .snappy), ("snappy-xerial.bin", .snappy),
        ("lz4-frame.bin", .lz4), ("lz4-frame-v0-header-checksum.bin", .lz4), ("lz4-frame-checksums.bin", .lz4),
        ("zstd.bin", .zstd), ("zstd-no-content-size.bin", .zstd),
    ])
    func decodesWhatClientLibrariesWrite(file: String, codec: CompressionCodec) throws {
        let payload = try Vectors.bytes("payload.bin")
        let decoded = try codec.decompress(Vectors.buffer(file), maxDecompressedBytes: payload.count)
        #expect(decoded.bytes == payload)
        // One byte less of budget is refused cleanly.
        let error = #expect(throws: CompressionError.self) {
            try codec.decompress(Vectors.buffer(file), maxDecompressedBytes: payload.count - 1)
        }
        #expect(error?.isOverBudget == true)
    }

    @Test func refusesDependentLZ4Blocks() throws {
        let error = #expect(throws: CompressionError.self) {
            try CompressionCodec.lz4.decompress(Vectors.buffer("lz4-frame-linked.bin"), maxDecompressedBytes: 1 << 20)
        }
        #expect(error?.isCorruptInput == true)
        #expect(error?.description.contains("dependent") == true)
    }
}
