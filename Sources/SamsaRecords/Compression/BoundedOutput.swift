import NIOCore

/// A growing output buffer that never holds more than `limit + 1` bytes.
///
/// Streaming decoders write into it step by step. Offering one byte past the limit lets them
/// tell "exactly at the limit" from "would exceed it" without decoding further. Capacity grows
/// by doubling from a guess based on the input size, capped at the limit, so a small hostile
/// input costs at most about twice the budget in memory, however far it would expand.
struct BoundedOutput {
    private(set) var buffer: ByteBuffer
    let limit: Int

    init(allocator: ByteBufferAllocator, inputSize: Int, limit: Int) {
        precondition(limit >= 0, "negative decompression budget")
        self.limit = limit
        // Typical record data compresses 2-5x; start at 4x the input, within [4 KiB, limit + 1].
        let guess = max(4096, inputSize.multipliedReportingOverflow(by: 4).overflow ? Int.max : inputSize * 4)
        self.buffer = allocator.buffer(capacity: min(guess, limit + 1))
    }

    var count: Int { buffer.readableBytes }
    var isOverLimit: Bool { buffer.readableBytes > limit }

    /// Grows the buffer so that `count` more bytes fit, or as many as the limit still allows.
    mutating func reserve(_ count: Int) {
        let wanted = min(count, limit + 1 - buffer.readableBytes)
        if buffer.writableBytes < wanted {
            buffer.reserveCapacity(minimumWritableBytes: wanted)
        }
    }

    /// Appends bytes, as far as the limit allows; returns false if they did not all fit.
    mutating func append(_ bytes: UnsafeRawBufferPointer) -> Bool {
        let fitting = min(bytes.count, limit - buffer.readableBytes)
        buffer.writeBytes(UnsafeRawBufferPointer(rebasing: bytes.prefix(max(0, fitting))))
        return fitting == bytes.count
    }

    /// Ensures some room (at most up to `limit + 1` bytes in all) and lets `body` write into it;
    /// `body` returns how many bytes it wrote and a result. Call only while not over the limit.
    mutating func write<Result>(_ body: (UnsafeMutableRawBufferPointer) -> (written: Int, result: Result)) -> Result {
        assert(!isOverLimit)
        let allowed = limit + 1 - buffer.readableBytes
        if buffer.writableBytes == 0 {
            let grown = min(max(buffer.capacity, 4096), allowed)
            buffer.reserveCapacity(minimumWritableBytes: grown)
        }
        var outcome: Result?
        buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: 0) { space in
            let room = UnsafeMutableRawBufferPointer(rebasing: space.prefix(allowed))
            let (written, result) = body(room)
            outcome = result
            return written
        }
        return outcome!
    }
}
