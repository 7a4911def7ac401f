import CSamsaCompression
import NIOCore

/// Kafka's zstd codec: standard zstd frames through the system libzstd.
///
/// Decoding streams rather than reading the frame's content size, because frames written by
/// Java's zstd-jni output stream do not carry one.
enum Zstd {
    /// Kafka's default level (`compression.zstd.level`).
    static let defaultLevel: Int32 = 3

    static func compress(_ input: ByteBuffer, level: Int32, allocator: ByteBufferAllocator) throws(CompressionError) -> ByteBuffer {
        try SystemCompressionLibrary.zstd.load(for: .zstd)
        let bound = samsa_zstd_compress_bound(input.readableBytes)
        var output = allocator.buffer(capacity: bound)
        var code = 0
        _ = input.withUnsafeReadableBytes { source in
            output.writeWithUnsafeMutableBytes(minimumWritableBytes: bound) { space in
                code = samsa_zstd_compress(
                    space.baseAddress!.assumingMemoryBound(to: UInt8.self), space.count,
                    source.baseAddress?.assumingMemoryBound(to: UInt8.self), source.count, level)
                return samsa_zstd_is_error(code) != 0 ? 0 : code
            }
        }
        guard samsa_zstd_is_error(code) == 0 else {
            throw .resourceFailure(.zstd, "ZSTD_compress failed: \(String(cString: samsa_zstd_error_name(code)))")
        }
        return output
    }

    /// The largest window a frame may ask for: enough for any frame Kafka clients write (level 3
    /// streams use 2 MiB, the highest levels 8 MiB) and never more than the budget needs, up to
    /// zstd's own default limit of 2^27.
    static func windowLogMax(limit: Int) -> Int32 {
        var log: Int32 = 23
        while log < 27 && (1 << log) < limit { log += 1 }
        return log
    }

    /// Decodes one frame or several concatenated ones (skippable frames are skipped).
    static func decompress(_ input: ByteBuffer, limit: Int, allocator: ByteBufferAllocator) throws(CompressionError) -> ByteBuffer {
        try SystemCompressionLibrary.zstd.load(for: .zstd)
        guard let stream = samsa_zstd_dstream_create(windowLogMax(limit: limit)) else {
            throw .resourceFailure(.zstd, "cannot create a decompression stream")
        }
        defer { samsa_zstd_dstream_free(stream) }
        var output = BoundedOutput(allocator: allocator, inputSize: input.readableBytes, limit: limit)
        let outcome: Outcome = input.withUnsafeReadableBytes { source in
            let base = source.baseAddress.map { $0.assumingMemoryBound(to: UInt8.self) }
            var offset = 0
            var frameComplete = false
            if source.isEmpty { return .failed("empty input") }
            while true {
                if output.isOverLimit { return .overBudget }
                if offset == source.count && frameComplete { return .done }
                let (code, consumed, produced) = output.write { space -> (written: Int, result: (Int, Int, Int)) in
                    var consumed = 0
                    var produced = 0
                    let code = samsa_zstd_decompress_stream(
                        stream, base.map { $0 + offset }, source.count - offset, &consumed,
                        space.baseAddress!.assumingMemoryBound(to: UInt8.self), space.count, &produced)
                    return (produced, (code, consumed, produced))
                }
                offset += consumed
                if samsa_zstd_is_error(code) != 0 {
                    return .failed(String(cString: samsa_zstd_error_name(code)))
                }
                frameComplete = code == 0
                if consumed == 0 && produced == 0 && !output.isOverLimit && !(frameComplete && offset == source.count) {
                    return offset == source.count ? .failed("truncated zstd frame") : .failed("decoder made no progress")
                }
            }
        }
        switch outcome {
        case .done: return output.buffer
        case .overBudget: throw .overBudget(.zstd, limit: limit)
        case .failed(let message): throw .corruptInput(.zstd, message)
        }
    }
}
