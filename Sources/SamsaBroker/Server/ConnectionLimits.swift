import NIOConcurrencyHelpers
import NIOCore

/// Counts a broker's open connections, across its listeners, against `max.connections` and
/// `max.connections.per.ip`. A connection over either limit is closed as soon as it is
/// accepted, before anything is read from it.
public final class ConnectionLimiter: Sendable {
    private struct State {
        var total = 0
        var byAddress: [String: Int] = [:]
    }

    private let maxConnections: Int
    private let maxConnectionsPerAddress: Int
    private let state = NIOLockedValueBox(State())

    public init(maxConnections: Int = .max, maxConnectionsPerAddress: Int = .max) {
        self.maxConnections = maxConnections
        self.maxConnectionsPerAddress = maxConnectionsPerAddress
    }

    /// Takes a place for a connection from `address`; false if a limit is reached.
    public func admit(_ address: String) -> Bool {
        state.withLockedValue { state in
            guard state.total < maxConnections, state.byAddress[address, default: 0] < maxConnectionsPerAddress else { return false }
            state.total += 1
            state.byAddress[address, default: 0] += 1
            return true
        }
    }

    /// Gives back the place of a connection from `address` that `admit` let in.
    public func release(_ address: String) {
        state.withLockedValue { state in
            state.total -= 1
            let left = state.byAddress[address, default: 1] - 1
            state.byAddress[address] = left > 0 ? left : nil
        }
    }

    /// Connections open now.
    public var openConnections: Int { state.withLockedValue { $0.total } }
}

/// Closes a connection whose request frame does not arrive whole within `limit` of its first
/// byte, so a client that sends a frame slowly or stops half-way (slowloris) cannot hold the
/// connection and its buffer. Reads the size prefixes itself, before the frame decoder.
final class FrameDeadlineHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer

    private let limit: TimeAmount
    /// Bytes of the current frame's size prefix seen so far, and its value.
    private var prefixBytes = 0
    private var prefix: UInt32 = 0
    /// Body bytes of the current frame still to come.
    private var bodyLeft = 0
    private var deadline: Scheduled<Void>?

    init(limit: TimeAmount) {
        self.limit = limit
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let buffer = unwrapInboundIn(data)
        var view = buffer.readableBytesView[...]
        while !view.isEmpty {
            if bodyLeft > 0 {
                let taken = min(bodyLeft, view.count)
                bodyLeft -= taken
                view = view.dropFirst(taken)
            } else {
                prefix = prefix << 8 | UInt32(view.first!)
                prefixBytes += 1
                view = view.dropFirst()
                if prefixBytes == 4 {
                    // A negative or oversized size is the decoder's to refuse.
                    bodyLeft = Int(Int32(bitPattern: prefix)).clamped(to: 0...Int(Int32.max))
                    prefixBytes = 0
                    prefix = 0
                }
            }
        }
        let midFrame = bodyLeft > 0 || prefixBytes > 0
        if midFrame, deadline == nil {
            let limit = self.limit
            deadline = context.eventLoop.assumeIsolated().scheduleTask(in: limit) { [weak self] in
                self?.deadline = nil
                context.fireErrorCaught(FrameStalledError(limit: limit))
                context.close(promise: nil)
            }
        } else if !midFrame {
            deadline?.cancel()
            deadline = nil
        }
        context.fireChannelRead(data)
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        deadline?.cancel()
        deadline = nil
    }

    func channelInactive(context: ChannelHandlerContext) {
        deadline?.cancel()
        deadline = nil
        context.fireChannelInactive()
    }
}

/// A request frame that did not arrive whole in time.
struct FrameStalledError: Error, CustomStringConvertible {
    var limit: TimeAmount
    var description: String { "a request frame did not arrive whole within \(limit.nanoseconds / 1_000_000) ms" }
}

/// Closes a connection that has neither received nor sent anything for `connections.max.idle.ms`.
///
/// Reads the event loop's clock (NIO's `IdleStateHandler` reads the wall clock), so a test's
/// embedded event loop drives it.
final class IdleConnectionCloser: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = NIOAny
    typealias OutboundIn = NIOAny

    private let limit: TimeAmount
    private var lastActivity = NIODeadline.distantPast
    private var check: Scheduled<Void>?

    init(limit: TimeAmount) {
        self.limit = limit
    }

    func handlerAdded(context: ChannelHandlerContext) {
        if context.channel.isActive { start(context) }
    }

    func channelActive(context: ChannelHandlerContext) {
        start(context)
        context.fireChannelActive()
    }

    func channelInactive(context: ChannelHandlerContext) {
        check?.cancel()
        check = nil
        context.fireChannelInactive()
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        check?.cancel()
        check = nil
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        lastActivity = context.eventLoop.now
        context.fireChannelRead(data)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        lastActivity = context.eventLoop.now
        context.write(data, promise: promise)
    }

    private func start(_ context: ChannelHandlerContext) {
        guard check == nil else { return }
        lastActivity = context.eventLoop.now
        schedule(context, at: lastActivity + limit)
    }

    private func schedule(_ context: ChannelHandlerContext, at deadline: NIODeadline) {
        check = context.eventLoop.assumeIsolated().scheduleTask(deadline: deadline) { [weak self] in
            guard let self else { return }
            let due = self.lastActivity + self.limit
            if context.eventLoop.now >= due {
                self.check = nil
                context.close(promise: nil)
            } else {
                self.schedule(context, at: due)
            }
        }
    }
}

extension Comparable {
    fileprivate func clamped(to range: ClosedRange<Self>) -> Self { min(max(self, range.lowerBound), range.upperBound) }
}
