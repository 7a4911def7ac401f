import NIOCore

extension CompressionCodec {
    /// Compresses `input` (its readable bytes) into the codec's Kafka format.
    ///
    /// gzip writes an RFC 1952 stream, snappy the xerial framing Java writes, lz4 a frame with
    /// independent 64 KiB blocks, zstd one frame. `level` is the codec's level where it has one
    /// (gzip 1-9, zstd 1-22); nil uses Kafka's defaults (gzip 6, zstd 3).
    ///
    /// Throws only when the codec's system library cannot be loaded or refuses to work.
    public func compress(
        _ input: ByteBuffer,
        level: Int? = nil,
        allocator: ByteBufferAllocator = ByteBufferAllocator()
    ) throws(CompressionError) -> ByteBuffer {
        switch self {
        case .none: return input
        case .gzip: return try Gzip.compress(input, level: Int32(clamping: level ?? -1), allocator: allocator)
        case .snappy: return SnappyEncoder.compressXerial(input, allocator: allocator)
        case .lz4: return try LZ4Frame.compress(input, allocator: allocator)
        case .zstd: return try Zstd.compress(input, level: Int32(clamping: level ?? Int(Zstd.defaultLevel)), allocator: allocator)
        }
    }

    /// Decompresses `input`, producing at most `maxDecompressedBytes` bytes.
    ///
    /// Accepts what every Kafka client writes (see docs/ARCHITECTURE.md, "Record batches and compression"): concatenated gzip members,
    /// raw or xerial-framed snappy, lz4 frames with either header-checksum form, zstd frames with
    /// or without a content size. Output that would exceed the budget stops decoding with
    /// ``CompressionError/isOverBudget``; memory use stays within about twice the budget however
    /// far the input would expand.
    public func decompress(
        _ input: ByteBuffer,
        maxDecompressedBytes: Int,
        allocator: ByteBufferAllocator = ByteBufferAllocator()
    ) throws(CompressionError) -> ByteBuffer {
        precondition(maxDecompressedBytes >= 0, "negative decompression budget")
        switch self {
        case .none:
            guard input.readableBytes <= maxDecompressedBytes else { throw .overBudget(self, limit: maxDecompressedBytes) }
            return input
        case .gzip: return try Gzip.decompress(input, limit: maxDecompressedBytes, allocator: allocator)
        case .snappy: return try SnappyDecoder.decompress(input, limit: maxDecompressedBytes, allocator: allocator)
        case .lz4: return try LZ4Frame.decompress(input, limit: maxDecompressedBytes, allocator: allocator)
        case .zstd: return try Zstd.decompress(input, limit: maxDecompressedBytes, allocator: allocator)
        }
    }

    /// Compresses a byte array; see ``compress(_:level:allocator:)``.
    public func compress(_ bytes: [UInt8], level: Int? = nil) throws(CompressionError) -> [UInt8] {
        let output = try compress(ByteBuffer(bytes: bytes), level: level)
        return Array(output.readableBytesView)
    }

    /// Decompresses a byte array; see ``decompress(_:maxDecompressedBytes:allocator:)``.
    public func decompress(_ bytes: [UInt8], maxDecompressedBytes: Int) throws(CompressionError) -> [UInt8] {
        let output = try decompress(ByteBuffer(bytes: bytes), maxDecompressedBytes: maxDecompressedBytes)
        return Array(output.readableBytesView)
    }

    /// Compresses to raw snappy without framing, as librdkafka writes it.
    public static func compressRawSnappy(_ input: ByteBuffer, allocator: ByteBufferAllocator = ByteBufferAllocator()) -> ByteBuffer {
        var output = allocator.buffer(capacity: SnappyEncoder.maxCompressedLength(input.readableBytes) + 5)
        SnappyEncoder.compressRaw(input, appendingTo: &output)
        return output
    }

    /// The system library this codec loads at run time, if any (snappy is written in Swift).
    public var systemLibrary: SystemCompressionLibrary? {
        switch self {
        case .none, .snappy: nil
        case .gzip: .zlib
        case .lz4: .lz4
        case .zstd: .zstd
        }
    }
}
