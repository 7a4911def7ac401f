import CSamsaCompression
import NIOCore

/// Kafka's lz4 codec: the LZ4 frame format written in Swift around the system liblz4's block API.
///
/// Writing follows Java's `Lz4BlockOutputStream`: independent 64 KiB blocks, no checksums, no
/// content size, and a block stored uncompressed when compression does not shrink it. Reading
/// accepts what any client writes: block sizes up to 4 MiB, block and content checksums (skipped),
/// a content size, concatenated and skippable frames, and the header checksum computed either
/// correctly or with Kafka's old magic-v0 mistake of hashing the magic number too (KAFKA-1493).
/// Dependent blocks are refused, as Java refuses them.
enum LZ4Frame {
    static let magic: UInt32 = 0x184D_2204
    static let blockSize = 64 * 1024
    static let flagVersion: UInt8 = 0x40
    static let flagBlockIndependence: UInt8 = 0x20
    static let flagBlockChecksum: UInt8 = 0x10
    static let flagContentSize: UInt8 = 0x08
    static let flagContentChecksum: UInt8 = 0x04
    static let flagDictionaryID: UInt8 = 0x01
    static let uncompressedBit: UInt32 = 0x8000_0000

    static func compress(_ input: ByteBuffer, allocator: ByteBufferAllocator) throws(CompressionError) -> ByteBuffer {
        try SystemCompressionLibrary.lz4.load(for: .lz4)
        let bound = Int(samsa_lz4_compress_bound(Int32(blockSize)))
        let blocks = (input.readableBytes + blockSize - 1) / blockSize
        var output = allocator.buffer(capacity: 7 + blocks * (4 + bound) + 4)
        let descriptor: [UInt8] = [flagVersion | flagBlockIndependence, 0x40]  // BD: 64 KiB blocks
        output.writeInteger(magic, endianness: .little)
        output.writeBytes(descriptor)
        output.writeInteger(headerChecksum(descriptor))
        input.withUnsafeReadableBytes { source in
            var offset = 0
            while offset < source.count {
                let chunk = UnsafeRawBufferPointer(rebasing: source[offset..<min(offset + blockSize, source.count)])
                let sizeIndex = output.writerIndex
                output.writeInteger(UInt32(0), endianness: .little)
                let written = output.writeWithUnsafeMutableBytes(minimumWritableBytes: bound) { space in
                    let size = samsa_lz4_compress_default(
                        chunk.baseAddress!.assumingMemoryBound(to: UInt8.self),
                        space.baseAddress!.assumingMemoryBound(to: UInt8.self), Int32(chunk.count), Int32(bound))
                    return size > 0 && Int(size) < chunk.count ? Int(size) : 0
                }
                if written > 0 {
                    output.setInteger(UInt32(written), at: sizeIndex, endianness: .little)
                } else {
                    output.setInteger(UInt32(chunk.count) | uncompressedBit, at: sizeIndex, endianness: .little)
                    output.writeBytes(chunk)
                }
                offset += chunk.count
            }
        }
        output.writeInteger(UInt32(0), endianness: .little)  // end mark
        return output
    }

    /// The header checksum: the second byte of xxh32 over the descriptor.
    static func headerChecksum(_ descriptor: [UInt8]) -> UInt8 {
        UInt8(truncatingIfNeeded: XXHash32.hash(descriptor, seed: 0) >> 8)
    }

    static func decompress(_ input: ByteBuffer, limit: Int, allocator: ByteBufferAllocator) throws(CompressionError) -> ByteBuffer {
        try SystemCompressionLibrary.lz4.load(for: .lz4)
        var output = BoundedOutput(allocator: allocator, inputSize: input.readableBytes, limit: limit)
        var reader = input
        guard reader.readableBytes > 0 else { throw .corruptInput(.lz4, "empty input") }
        while reader.readableBytes > 0 {
            try decodeFrame(&reader, into: &output)
        }
        return output.buffer
    }

    private static func decodeFrame(_ reader: inout ByteBuffer, into output: inout BoundedOutput) throws(CompressionError) {
        guard let frameMagic = reader.readInteger(endianness: .little, as: UInt32.self) else {
            throw .corruptInput(.lz4, "truncated frame magic")
        }
        if frameMagic & 0xFFFF_FFF0 == 0x184D_2A50 {
            guard let size = reader.readInteger(endianness: .little, as: UInt32.self), reader.readableBytes >= Int(size) else {
                throw .corruptInput(.lz4, "truncated skippable frame")
            }
            reader.moveReaderIndex(forwardBy: Int(size))
            return
        }
        guard frameMagic == magic else {
            throw .corruptInput(.lz4, "bad frame magic 0x\(String(frameMagic, radix: 16))")
        }
        let header = try readDescriptor(&reader, limit: output.limit - output.count)
        while true {
            guard let word = reader.readInteger(endianness: .little, as: UInt32.self) else {
                throw .corruptInput(.lz4, "truncated block size")
            }
            if word == 0 { break }
            let size = Int(word & ~uncompressedBit)
            guard size <= header.blockMaximum else {
                throw .corruptInput(.lz4, "block of \(size) bytes exceeds the frame's maximum of \(header.blockMaximum)")
            }
            guard let block = reader.readSlice(length: size), header.blockChecksum ? reader.readSlice(length: 4) != nil : true else {
                throw .corruptInput(.lz4, "truncated block")
            }
            if word & uncompressedBit != 0 {
                let fitted = block.withUnsafeReadableBytes { output.append($0) }
                guard fitted else { throw .overBudget(.lz4, limit: output.limit) }
            } else {
                try decodeBlock(block, maximum: header.blockMaximum, into: &output)
            }
        }
        if header.contentChecksum {
            guard reader.readSlice(length: 4) != nil else { throw .corruptInput(.lz4, "truncated content checksum") }
        }
    }

    private struct FrameHeader {
        var blockMaximum: Int
        var blockChecksum: Bool
        var contentChecksum: Bool
    }

    private static func readDescriptor(_ reader: inout ByteBuffer, limit remaining: Int) throws(CompressionError) -> FrameHeader {
        guard let flags = reader.getInteger(at: reader.readerIndex, as: UInt8.self),
            let bd = reader.getInteger(at: reader.readerIndex + 1, as: UInt8.self)
        else { throw .corruptInput(.lz4, "truncated frame descriptor") }
        guard flags & 0xC0 == flagVersion, flags & 0x02 == 0, bd & 0x8F == 0 else {
            throw .corruptInput(.lz4, "unsupported frame version or reserved bits set")
        }
        guard flags & flagBlockIndependence != 0 else {
            throw .corruptInput(.lz4, "dependent blocks are not supported")
        }
        guard flags & flagDictionaryID == 0 else {
            throw .corruptInput(.lz4, "frames needing a dictionary are not supported")
        }
        let blockSizeID = Int(bd >> 4) & 0x07
        guard blockSizeID >= 4 else { throw .corruptInput(.lz4, "invalid block size id \(blockSizeID)") }
        let descriptorLength = 2 + (flags & flagContentSize != 0 ? 8 : 0)
        guard let descriptor = reader.readBytes(length: descriptorLength), let checksum = reader.readInteger(as: UInt8.self) else {
            throw .corruptInput(.lz4, "truncated frame descriptor")
        }
        // Kafka's magic v0 hashed the magic number too; accept either form.
        let withMagic: [UInt8] = [0x04, 0x22, 0x4D, 0x18] + descriptor
        guard checksum == headerChecksum(descriptor) || checksum == headerChecksum(withMagic) else {
            throw .corruptInput(.lz4, "frame header checksum mismatch")
        }
        if flags & flagContentSize != 0 {
            let contentSize = descriptor[2..<10].reversed().reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
            guard contentSize <= UInt64(max(0, remaining)) else { throw .overBudget(.lz4, limit: remaining) }
        }
        return FrameHeader(
            blockMaximum: 1 << (8 + 2 * blockSizeID),
            blockChecksum: flags & flagBlockChecksum != 0,
            contentChecksum: flags & flagContentChecksum != 0)
    }

    private static func decodeBlock(_ block: ByteBuffer, maximum: Int, into output: inout BoundedOutput) throws(CompressionError) {
        output.reserve(maximum)
        let room = min(maximum, output.limit - output.count)
        let decoded: Int32 = block.withUnsafeReadableBytes { source in
            output.write { space -> (written: Int, result: Int32) in
                let capacity = min(room, space.count)
                let size = samsa_lz4_decompress_safe(
                    source.baseAddress?.assumingMemoryBound(to: UInt8.self),
                    space.baseAddress!.assumingMemoryBound(to: UInt8.self), Int32(source.count), Int32(capacity))
                return (max(0, Int(size)), size)
            }
        }
        guard decoded < 0 else { return }
        // Failure with less room than a full block may only mean the output hit the budget:
        // decode into scratch space to tell that from corrupt input.
        if room < maximum {
            var scratch = [UInt8](repeating: 0, count: maximum)
            let size = block.withUnsafeReadableBytes { source in
                scratch.withUnsafeMutableBytes { space in
                    samsa_lz4_decompress_safe(
                        source.baseAddress?.assumingMemoryBound(to: UInt8.self),
                        space.baseAddress!.assumingMemoryBound(to: UInt8.self), Int32(source.count), Int32(maximum))
                }
            }
            if size >= 0 { throw .overBudget(.lz4, limit: output.limit) }
        }
        throw .corruptInput(.lz4, "invalid lz4 block")
    }
}
