import NIOCore

/// Snappy compression in Swift: the reference algorithm's greedy matcher over 64 KiB fragments
/// with a hash table of 4-byte sequences, emitting literals and copies.
enum SnappyEncoder {
    static let fragmentSize = 1 << 16
    /// xerial snappy-java's default block size, which Kafka's Java producer uses.
    static let xerialBlockSize = 32 * 1024
    private static let inputMargin = 15
    private static let tableBits = 14

    /// The largest raw snappy output for `length` input bytes.
    static func maxCompressedLength(_ length: Int) -> Int { 32 + length + length / 6 }

    /// Writes Java's format: the xerial header and then `int32 length + raw snappy block` per
    /// 32 KiB of input.
    static func compressXerial(_ input: ByteBuffer, allocator: ByteBufferAllocator) -> ByteBuffer {
        let blocks = (input.readableBytes + xerialBlockSize - 1) / xerialBlockSize
        var output = allocator.buffer(capacity: 16 + blocks * (4 + maxCompressedLength(xerialBlockSize)))
        output.writeBytes(SnappyDecoder.xerialMagic)
        output.writeInteger(Int32(1))  // version
        output.writeInteger(Int32(1))  // compatible version
        var reader = input
        while reader.readableBytes > 0 {
            let block = reader.readSlice(length: min(xerialBlockSize, reader.readableBytes))!
            let lengthIndex = output.writerIndex
            output.writeInteger(Int32(0))
            let start = output.writerIndex
            compressRaw(block, appendingTo: &output)
            output.setInteger(Int32(output.writerIndex - start), at: lengthIndex)
        }
        return output
    }

    /// Appends raw snappy (a length preamble and tagged elements) for the readable bytes of `input`.
    static func compressRaw(_ input: ByteBuffer, appendingTo output: inout ByteBuffer) {
        let bound = maxCompressedLength(input.readableBytes)
        _ = input.withUnsafeReadableBytes { source in
            output.writeWithUnsafeMutableBytes(minimumWritableBytes: bound) { space in
                var writer = Writer(base: space.baseAddress!)
                var length = UInt32(source.count)
                while length >= 0x80 {
                    writer.byte(UInt8(truncatingIfNeeded: length) | 0x80)
                    length >>= 7
                }
                writer.byte(UInt8(length))
                var table = [UInt16](repeating: 0, count: 1 << tableBits)
                var offset = 0
                while offset < source.count {
                    let fragment = UnsafeRawBufferPointer(rebasing: source[offset..<min(offset + fragmentSize, source.count)])
                    table.withUnsafeMutableBufferPointer { table in
                        table.update(repeating: 0)
                        compressFragment(fragment, table: table, writer: &writer)
                    }
                    offset += fragment.count
                }
                precondition(writer.position <= bound, "snappy output bound exceeded")
                return writer.position
            }
        }
    }

    private struct Writer {
        let base: UnsafeMutableRawPointer
        var position = 0

        @inline(__always)
        mutating func byte(_ value: UInt8) {
            base.storeBytes(of: value, toByteOffset: position, as: UInt8.self)
            position += 1
        }

        mutating func literal(_ bytes: UnsafeRawBufferPointer, from start: Int, to end: Int) {
            let count = end - start
            guard count > 0 else { return }
            let n = count - 1
            if n < 60 {
                byte(UInt8(n << 2))
            } else {
                let extra = n < 1 << 8 ? 1 : n < 1 << 16 ? 2 : n < 1 << 24 ? 3 : 4
                byte(UInt8((59 + extra) << 2))
                for index in 0..<extra { byte(UInt8(truncatingIfNeeded: n >> (8 * index))) }
            }
            (base + position).copyMemory(from: bytes.baseAddress! + start, byteCount: count)
            position += count
        }

        mutating func copy(offset: Int, length total: Int) {
            var length = total
            // Copies of up to 64 bytes; keep the last at least 4 long so it can use the short form.
            while length >= 68 {
                copyUpTo64(offset: offset, length: 64)
                length -= 64
            }
            if length > 64 {
                copyUpTo64(offset: offset, length: 60)
                length -= 60
            }
            copyUpTo64(offset: offset, length: length)
        }

        private mutating func copyUpTo64(offset: Int, length: Int) {
            if length < 12 && offset < 2048 {
                byte(UInt8(1 | ((length - 4) << 2) | ((offset >> 8) << 5)))
                byte(UInt8(truncatingIfNeeded: offset))
            } else {
                byte(UInt8(2 | ((length - 1) << 2)))
                byte(UInt8(truncatingIfNeeded: offset))
                byte(UInt8(truncatingIfNeeded: offset >> 8))
            }
        }
    }

    @inline(__always)
    private static func load32(_ bytes: UnsafeRawBufferPointer, _ index: Int) -> UInt32 {
        bytes.loadUnaligned(fromByteOffset: index, as: UInt32.self)
    }

    @inline(__always)
    private static func hash(_ value: UInt32) -> Int {
        Int((value &* 0x1E35_A7BD) >> UInt32(32 - tableBits))
    }

    /// Compresses one fragment of at most 64 KiB; `table` maps hashes to positions in it.
    private static func compressFragment(_ input: UnsafeRawBufferPointer, table: UnsafeMutableBufferPointer<UInt16>, writer: inout Writer) {
        let end = input.count
        var nextEmit = 0
        guard end >= inputMargin else {
            writer.literal(input, from: 0, to: end)
            return
        }
        let limit = end - inputMargin
        var ip = 1
        outer: while true {
            // Look for a 4-byte match, skipping faster through data that does not compress.
            var skip = 32
            var candidate = 0
            while true {
                let value = load32(input, ip)
                let h = hash(value)
                candidate = Int(table[h])
                table[h] = UInt16(truncatingIfNeeded: ip)
                if candidate < ip && load32(input, candidate) == value { break }
                ip += skip >> 5
                skip += 1
                if ip > limit { break outer }
            }
            writer.literal(input, from: nextEmit, to: ip)
            // Emit copies for as long as the position after a copy starts another match.
            while true {
                var matched = 4
                while ip + matched < end && input[candidate + matched] == input[ip + matched] { matched += 1 }
                writer.copy(offset: ip - candidate, length: matched)
                ip += matched
                nextEmit = ip
                if ip >= limit { break outer }
                table[hash(load32(input, ip - 1))] = UInt16(truncatingIfNeeded: ip - 1)
                let h = hash(load32(input, ip))
                candidate = Int(table[h])
                table[h] = UInt16(truncatingIfNeeded: ip)
                if !(candidate < ip && load32(input, candidate) == load32(input, ip)) { break }
            }
            ip += 1
            if ip > limit { break }
        }
        writer.literal(input, from: nextEmit, to: end)
    }
}
