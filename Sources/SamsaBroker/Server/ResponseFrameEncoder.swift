import NIOCore

/// Writes each ``ResponseFrame`` as its size prefix and parts.
///
/// A frame that owns file handles (a fetch sent with `sendfile`) is kept alive until the write
/// of its last part completes or fails, so its descriptors close only after NIO is done with
/// them. A frame dropped before it reaches this handler (the connection closed first) closes
/// them when released.
final class ResponseFrameEncoder: ChannelOutboundHandler {
    typealias OutboundIn = ResponseFrame
    typealias OutboundOut = IOData

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        let frame = unwrapOutboundIn(data)
        let parts = frame.wireParts(allocator: context.channel.allocator)
        for part in parts.dropLast() {
            context.write(wrapOutboundOut(part), promise: nil)
        }
        // wireParts always holds at least the size prefix.
        let last = parts[parts.count - 1]
        guard frame.ownsFiles else {
            context.write(wrapOutboundOut(last), promise: promise)
            return
        }
        let written = promise ?? context.eventLoop.makePromise(of: Void.self)
        written.futureResult.whenComplete { _ in
            withExtendedLifetime(frame) {}
        }
        context.write(wrapOutboundOut(last), promise: written)
    }
}
