import NIOCore

/// Snappy decoding in Swift (libsnappy is not on a default Debian system).
///
/// Accepts raw snappy (what librdkafka writes) and xerial snappy-java framing (what Java writes:
/// `0x82 'SNAPPY' 0x00`, int32 version, int32 compatible version, then repeated int32 length and
/// a raw snappy block). Every length and copy offset is checked before it is used, and a block's
/// declared size is checked against the budget before anything is allocated.
enum SnappyDecoder {
    static let xerialMagic: [UInt8] = [0x82, 0x53, 0x4E, 0x41, 0x50, 0x50, 0x59, 0x00]
    static let xerialHeaderSize = 16

    static func decompress(_ input: ByteBuffer, limit: Int, allocator: ByteBufferAllocator) throws(CompressionError) -> ByteBuffer {
        if isXerialFramed(input) {
            return try decompressXerial(input, limit: limit, allocator: allocator)
        }
        var output = allocator.buffer(capacity: 0)
        try decompressRaw(input, limit: limit, appendingTo: &output)
        return output
    }

    static func isXerialFramed(_ input: ByteBuffer) -> Bool {
        input.readableBytes >= xerialHeaderSize
            && input.withUnsafeReadableBytes { $0.prefix(xerialMagic.count).elementsEqual(xerialMagic) }
    }

    private static func decompressXerial(
        _ input: ByteBuffer, limit: Int, allocator: ByteBufferAllocator
    ) throws(CompressionError) -> ByteBuffer {
        var reader = input
        reader.moveReaderIndex(forwardBy: xerialHeaderSize)
        var output = allocator.buffer(capacity: 0)
        while reader.readableBytes > 0 {
            guard let length = reader.readInteger(endianness: .big, as: Int32.self), length >= 0,
                let block = reader.readSlice(length: Int(length))
            else { throw .corruptInput(.snappy, "truncated xerial block") }
            try decompressRaw(block, limit: limit, appendingTo: &output)
        }
        return output
    }

    /// Decodes one raw snappy block and appends it to `output`, whose total must stay within `limit`.
    static func decompressRaw(_ input: ByteBuffer, limit: Int, appendingTo output: inout ByteBuffer) throws(CompressionError) {
        var reader = input
        guard let declared = readPreamble(&reader) else {
            throw .corruptInput(.snappy, "bad length preamble")
        }
        guard declared <= UInt64(max(0, limit - output.readableBytes)) else {
            throw .overBudget(.snappy, limit: limit)
        }
        let length = Int(declared)
        output.reserveCapacity(minimumWritableBytes: length)
        var failure: String?
        _ = reader.withUnsafeReadableBytes { source in
            output.writeWithUnsafeMutableBytes(minimumWritableBytes: length) { space in
                failure = decode(source, into: UnsafeMutableRawBufferPointer(rebasing: space.prefix(length)))
                return failure == nil ? length : 0
            }
        }
        if let failure { throw .corruptInput(.snappy, failure) }
    }

    /// The uncompressed length: an unsigned LEB128 value of at most 32 bits.
    private static func readPreamble(_ reader: inout ByteBuffer) -> UInt64? {
        var value: UInt64 = 0
        for shift in stride(from: 0, to: 35, by: 7) {
            guard let byte = reader.readInteger(as: UInt8.self) else { return nil }
            value |= UInt64(byte & 0x7F) << UInt64(shift)
            if byte & 0x80 == 0 { return value <= UInt64(UInt32.max) ? value : nil }
        }
        return nil
    }

    /// Decodes the tagged elements of `source` so that they fill `output` exactly.
    /// Returns nil on success, else what was wrong.
    private static func decode(_ source: UnsafeRawBufferPointer, into output: UnsafeMutableRawBufferPointer) -> String? {
        let end = source.count
        let outEnd = output.count
        var ip = 0
        var op = 0
        while ip < end {
            let tag = source[ip]
            ip += 1
            if tag & 0x03 == 0 {
                // Literal: length − 1 in the tag, or in the next 1-4 bytes (little-endian).
                var length = Int(tag >> 2)
                if length >= 60 {
                    let extra = length - 59
                    guard ip + extra <= end else { return "truncated literal length" }
                    length = 0
                    for index in 0..<extra { length |= Int(source[ip + index]) << (8 * index) }
                    ip += extra
                }
                length += 1
                guard length <= end - ip else { return "literal runs past the input" }
                guard length <= outEnd - op else { return "literal runs past the declared length" }
                (output.baseAddress! + op).copyMemory(from: source.baseAddress! + ip, byteCount: length)
                ip += length
                op += length
                continue
            }
            let length: Int
            let offset: Int
            switch tag & 0x03 {
            case 1:
                guard ip < end else { return "truncated copy" }
                length = 4 + Int((tag >> 2) & 0x07)
                offset = Int(tag >> 5) << 8 | Int(source[ip])
                ip += 1
            case 2:
                guard ip + 2 <= end else { return "truncated copy" }
                length = 1 + Int(tag >> 2)
                offset = Int(source[ip]) | Int(source[ip + 1]) << 8
                ip += 2
            default:
                guard ip + 4 <= end else { return "truncated copy" }
                length = 1 + Int(tag >> 2)
                offset = Int(UInt32(littleEndian: source.loadUnaligned(fromByteOffset: ip, as: UInt32.self)))
                ip += 4
            }
            guard offset > 0, offset <= op else { return "copy offset \(offset) outside the output" }
            guard length <= outEnd - op else { return "copy runs past the declared length" }
            copyMatch(output, from: op - offset, to: op, length: length)
            op += length
        }
        return op == outEnd ? nil : "decoded \(op) bytes, declared \(outEnd)"
    }

    /// Copies an earlier part of the output forward; overlapping copies repeat a pattern.
    @inline(__always)
    private static func copyMatch(_ output: UnsafeMutableRawBufferPointer, from source: Int, to destination: Int, length: Int) {
        let base = output.baseAddress!
        if destination - source >= length {
            (base + destination).copyMemory(from: base + source, byteCount: length)
        } else {
            for index in 0..<length {
                base.storeBytes(
                    of: base.load(fromByteOffset: source + index, as: UInt8.self), toByteOffset: destination + index, as: UInt8.self)
            }
        }
    }
}
