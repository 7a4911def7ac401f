import CSamsaCompression
import NIOCore

/// Kafka's gzip codec: a full RFC 1952 gzip stream (what Java's `GZIPOutputStream` writes),
/// through the system zlib with windowBits 15 + 16.
enum Gzip {
    static func compress(_ input: ByteBuffer, level: Int32, allocator: ByteBufferAllocator) throws(CompressionError) -> ByteBuffer {
        try SystemCompressionLibrary.zlib.load(for: .gzip)
        guard let stream = samsa_gzip_deflate_create(level) else {
            throw .resourceFailure(.gzip, "deflateInit2 failed (level \(level))")
        }
        defer { samsa_gzip_deflate_free(stream) }
        var output = allocator.buffer(capacity: samsa_gzip_bound(input.readableBytes))
        let code = input.withUnsafeReadableBytes { source -> Int32 in
            var offset = 0
            while true {
                if output.writableBytes == 0 { output.reserveCapacity(minimumWritableBytes: max(4096, output.capacity)) }
                var code: Int32 = 0
                output.writeWithUnsafeMutableBytes(minimumWritableBytes: 0) { space in
                    var consumed = 0
                    var produced = 0
                    code = samsa_gzip_deflate(
                        stream, source.baseAddress.map { $0.assumingMemoryBound(to: UInt8.self) + offset },
                        source.count - offset, &consumed,
                        space.baseAddress!.assumingMemoryBound(to: UInt8.self), space.count, &produced, 1)
                    offset += consumed
                    return produced
                }
                if code != SAMSA_Z_OK && code != SAMSA_Z_BUF_ERROR { return code }
            }
        }
        guard code == SAMSA_Z_STREAM_END else {
            throw .resourceFailure(.gzip, "deflate failed with code \(code): \(String(cString: samsa_zstream_message(stream)))")
        }
        return output
    }

    /// Decodes one gzip member or several concatenated ones. Bytes after the last member that do
    /// not start another one are ignored, as Java's `GZIPInputStream` does.
    static func decompress(_ input: ByteBuffer, limit: Int, allocator: ByteBufferAllocator) throws(CompressionError) -> ByteBuffer {
        try SystemCompressionLibrary.zlib.load(for: .gzip)
        guard let stream = samsa_gzip_inflate_create() else {
            throw .resourceFailure(.gzip, "inflateInit2 failed")
        }
        defer { samsa_gzip_inflate_free(stream) }
        var output = BoundedOutput(allocator: allocator, inputSize: input.readableBytes, limit: limit)
        let outcome: Outcome = input.withUnsafeReadableBytes { source in
            let base = source.baseAddress.map { $0.assumingMemoryBound(to: UInt8.self) }
            var offset = 0
            if source.isEmpty { return .failed("empty input") }
            while true {
                if output.isOverLimit { return .overBudget }
                let (code, consumed, produced) = output.write { space -> (written: Int, result: (Int32, Int, Int)) in
                    var consumed = 0
                    var produced = 0
                    let code = samsa_gzip_inflate(
                        stream, base.map { $0 + offset }, source.count - offset, &consumed,
                        space.baseAddress!.assumingMemoryBound(to: UInt8.self), space.count, &produced)
                    return (produced, (code, consumed, produced))
                }
                offset += consumed
                switch code {
                case SAMSA_Z_STREAM_END:
                    if output.isOverLimit { return .overBudget }
                    let rest = source.count - offset
                    guard rest >= 2, source[offset] == 0x1F, source[offset + 1] == 0x8B else { return .done }
                    guard samsa_gzip_inflate_reset(stream) == SAMSA_Z_OK else { return .failed("inflateReset failed") }
                case SAMSA_Z_OK, SAMSA_Z_BUF_ERROR:
                    if consumed == 0 && produced == 0 && !output.isOverLimit {
                        return offset == source.count ? .failed("truncated gzip stream") : .failed("inflate made no progress")
                    }
                case SAMSA_Z_NEED_DICT:
                    return .failed("stream needs a preset dictionary")
                default:
                    let message = String(cString: samsa_zstream_message(stream))
                    return .failed("inflate error \(code)\(message.isEmpty ? "" : ": \(message)")")
                }
            }
        }
        switch outcome {
        case .done: return output.buffer
        case .overBudget: throw .overBudget(.gzip, limit: limit)
        case .failed(let message): throw .corruptInput(.gzip, message)
        }
    }
}

/// How a decoding loop ended, returned from inside closures that cannot throw typed errors.
enum Outcome {
    case done
    case overBudget
    case failed(String)
}
