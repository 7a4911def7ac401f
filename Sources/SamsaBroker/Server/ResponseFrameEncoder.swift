#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
import NIOCore

/// Writes each ``ResponseFrame`` as its size prefix and parts.
///
/// A frame that owns file handles (a fetch whose records stay in their segment files) is kept
/// alive until the write of its last part completes or fails, so its descriptors close only
/// after NIO is done with them. A frame dropped before it reaches this handler (the connection
/// closed first) closes them when released.
///
/// File regions go out in one of two ways:
/// - with `sendfile` (``readsFiles`` false, plaintext listeners): NIO hands the region to the
///   kernel and no record byte enters the process;
/// - read into buffers of at most ``chunkBytes`` (``readsFiles`` true, TLS listeners, whose
///   bytes must pass through the TLS handler). A chunk is read only while the channel is
///   writable, and the frames behind wait, so a connection holds about one chunk of a fetch's
///   records however large the fetch (up to 55 MiB): reading a whole answer first would hold
///   all of it, per connection.
///
/// Both read the file on the event loop, where the bytes are nearly always in the page cache
/// (a consumer reads what was just written, or a backlog it is working through).
final class ResponseFrameEncoder: ChannelDuplexHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundIn = ResponseFrame
    typealias OutboundOut = IOData

    /// File regions are read into buffers instead of being sent with `sendfile`.
    let readsFiles: Bool
    /// The largest buffer a file region is read into.
    let chunkBytes: Int
    /// Frames not yet written whole, in order; only when ``readsFiles``.
    private var queue = CircularBuffer<QueuedFrame>()

    /// A frame being written part by part: the parts left (a file region shrinks as chunks of
    /// it are written) and the promise of its last write.
    private struct QueuedFrame {
        var parts: CircularBuffer<IOData>
        let frame: ResponseFrame
        let promise: EventLoopPromise<Void>?
    }

    init(readsFiles: Bool = false, chunkBytes: Int = 256 * 1024) {
        precondition(chunkBytes > 0)
        self.readsFiles = readsFiles
        self.chunkBytes = chunkBytes
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        let frame = unwrapOutboundIn(data)
        let parts = frame.wireParts(allocator: context.channel.allocator)
        guard readsFiles else {
            writeWhole(parts, of: frame, context: context, promise: promise)
            return
        }
        queue.append(QueuedFrame(parts: CircularBuffer(parts), frame: frame, promise: promise))
        // Written once flushed: the frames before may still be waiting for the channel.
    }

    func flush(context: ChannelHandlerContext) {
        guard readsFiles else {
            context.flush()
            return
        }
        writeQueued(context: context)
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        if readsFiles && context.channel.isWritable {
            writeQueued(context: context)
        }
        context.fireChannelWritabilityChanged()
    }

    func channelInactive(context: ChannelHandlerContext) {
        failQueued(ChannelError.ioOnClosedChannel)
        context.fireChannelInactive()
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        failQueued(ChannelError.ioOnClosedChannel)
    }

    /// Writes every part at once (regions with `sendfile`).
    private func writeWhole(_ parts: [IOData], of frame: ResponseFrame, context: ChannelHandlerContext, promise: EventLoopPromise<Void>?) {
        for part in parts.dropLast() {
            context.write(wrapOutboundOut(part), promise: nil)
        }
        // wireParts always holds at least the size prefix.
        context.write(wrapOutboundOut(parts[parts.count - 1]), promise: keepingAlive(frame, until: promise, context: context))
    }

    /// `promise`, or a new one when the frame owns files, completed only after the frame has
    /// been kept alive until the write is done.
    private func keepingAlive(
        _ frame: ResponseFrame, until promise: EventLoopPromise<Void>?, context: ChannelHandlerContext
    )
        -> EventLoopPromise<Void>?
    {
        guard frame.ownsFiles else { return promise }
        let written = promise ?? context.eventLoop.makePromise(of: Void.self)
        written.futureResult.whenComplete { _ in
            withExtendedLifetime(frame) {}
        }
        return written
    }

    /// Writes queued parts while the channel takes them, a chunk of a file region at a time,
    /// flushing after each chunk so the channel's writability follows what the socket took.
    private func writeQueued(context: ChannelHandlerContext) {
        var unflushed = false
        while context.channel.isWritable, var head = queue.popFirst() {
            guard let part = head.parts.popFirst() else {
                head.promise?.succeed()
                continue
            }
            let data: IOData
            switch part {
            case .byteBuffer:
                data = part
            case .fileRegion(var region):
                do {
                    let chunk = try read(&region, context: context)
                    if region.readableBytes > 0 { head.parts.prepend(.fileRegion(region)) }
                    data = .byteBuffer(chunk)
                } catch {
                    // Part of this answer is already on the wire: the stream cannot go on.
                    head.promise?.fail(error)
                    failQueued(error)
                    context.close(promise: nil)
                    return
                }
            }
            if head.parts.isEmpty {
                context.write(wrapOutboundOut(data), promise: keepingAlive(head.frame, until: head.promise, context: context))
            } else {
                context.write(wrapOutboundOut(data), promise: nil)
                queue.prepend(head)
            }
            unflushed = true
            if case .fileRegion = part {
                context.flush()
                unflushed = false
            }
        }
        if unflushed { context.flush() }
    }

    /// The next chunk of `region`, read from its file; the region moves past it.
    private func read(_ region: inout FileRegion, context: ChannelHandlerContext) throws -> ByteBuffer {
        let length = min(region.readableBytes, chunkBytes)
        let position = region.readerIndex
        var buffer = context.channel.allocator.buffer(capacity: length)
        _ = try region.fileHandle.withUnsafeFileDescriptor { descriptor in
            try buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: length) { memory in
                var done = 0
                while done < length {
                    let count = pread(descriptor, memory.baseAddress! + done, length - done, off_t(position + done))
                    if count < 0 && errno == EINTR { continue }
                    guard count > 0 else {
                        throw IOError(errnoCode: count < 0 ? errno : EIO, reason: "pread of a fetch's records")
                    }
                    done += count
                }
                return done
            }
        }
        region.moveReaderIndex(forwardBy: length)
        return buffer
    }

    /// Fails and drops every queued frame (its files close as it goes).
    private func failQueued(_ error: any Error) {
        while let frame = queue.popFirst() {
            frame.promise?.fail(error)
        }
    }
}
