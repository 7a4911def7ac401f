#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
import NIOConcurrencyHelpers
import NIOCore

/// One response as it goes on the wire: the int32 size, then its parts in order.
///
/// Parts are `IOData`, so a fetch response can carry file regions that NIO sends with
/// `sendfile` between the buffers that hold its headers.
///
/// File regions added with ``appendFile(descriptor:position:length:)`` read from a duplicate of
/// the descriptor that the frame owns: it is closed once no copy of the frame is left, which the
/// server's ``ResponseFrameEncoder`` delays until the write has completed or failed. So a segment
/// that retention deletes meanwhile is still sent whole, and no descriptor leaks.
public struct ResponseFrame: Sendable {
    /// The parts after the size prefix.
    public private(set) var parts: [IOData]
    /// The sum of the parts' sizes: the value of the size prefix.
    public private(set) var size: Int
    /// The connection closes once this frame is written (a failed authentication).
    public var closesConnection = false
    /// The file handles of the regions this frame owns; nil when it owns none.
    private var ownedFiles: OwnedFileHandles?

    /// True when the frame owns file handles that must live until the frame is written.
    var ownsFiles: Bool { ownedFiles != nil }

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

    /// Appends `length` bytes of the open file `descriptor` from `position`, sent with
    /// `sendfile`. The descriptor is duplicated, so the caller may close its own at once.
    public mutating func appendFile(descriptor: CInt, position: Int64, length: Int) throws {
        guard length > 0 else { return }
        let duplicate = dup(descriptor)
        guard duplicate >= 0 else { throw IOError(errnoCode: errno, reason: "dup") }
        let handle = NIOFileHandle(_deprecatedTakingOwnershipOfDescriptor: duplicate)
        if ownedFiles == nil { ownedFiles = OwnedFileHandles() }
        ownedFiles!.add(handle)
        let start = Int(position)
        parts.append(.fileRegion(FileRegion(fileHandle: handle, readerIndex: start, endIndex: start + length)))
        size += length
    }

    /// This frame, closing its connection when `condition` holds.
    public func closing(if condition: Bool) -> ResponseFrame {
        var frame = self
        frame.closesConnection = condition
        return frame
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

/// File handles owned by a ``ResponseFrame`` and its copies, closed when the last copy goes.
private final class OwnedFileHandles: Sendable {
    private let handles = NIOLockedValueBox<[NIOFileHandle]>([])

    func add(_ handle: NIOFileHandle) {
        handles.withLockedValue { $0.append(handle) }
    }

    deinit {
        for handle in handles.withLockedValue({ $0 }) {
            try? handle.close()
        }
    }
}
