import NIOCore

/// One response as it goes on the wire: the int32 size, then its parts in order.
///
/// Parts are `IOData`, so a fetch response can carry file regions that NIO sends with
/// `sendfile` between the buffers that hold its headers.
public struct ResponseFrame: Sendable {
    /// The parts after the size prefix.
    public private(set) var parts: [IOData]
    /// The sum of the parts' sizes: the value of the size prefix.
    public private(set) var size: Int

    /// A response held in one buffer (header and body, without the size prefix).
    public init(body: ByteBuffer) {
        self.parts = [.byteBuffer(body)]
        self.size = body.readableBytes
    }

    /// An empty frame to append parts to.
    public init() {
        self.parts = []
        self.size = 0
    }

    /// Appends a buffer.
    public mutating func append(_ buffer: ByteBuffer) {
        guard buffer.readableBytes > 0 else { return }
        parts.append(.byteBuffer(buffer))
        size += buffer.readableBytes
    }

    /// Appends a region of a file, sent without copying where the transport allows it.
    public mutating func append(_ region: FileRegion) {
        guard region.readableBytes > 0 else { return }
        parts.append(.fileRegion(region))
        size += region.readableBytes
    }

    /// The parts to write, starting with the size prefix.
    func wireParts(allocator: ByteBufferAllocator) -> [IOData] {
        var prefix = allocator.buffer(capacity: 4)
        prefix.writeInteger(Int32(size))
        // Coalesce a small first buffer with the prefix to save a write.
        if case .byteBuffer(var first)? = parts.first, first.readableBytes <= 64 * 1024 {
            prefix.writeBuffer(&first)
            return [.byteBuffer(prefix)] + parts.dropFirst()
        }
        return [.byteBuffer(prefix)] + parts
    }
}
