import NIOCore
import SamsaProtocol

/// One request on its way out: its encoded frame, and the promise its response frame fulfils.
struct OutboundRequest {
    var frame: ByteBuffer
    var correlationId: Int32
    /// Nil for a request the broker does not answer (Produce with acks=0).
    var response: EventLoopPromise<ByteBuffer>?
    var timeout: TimeAmount
    /// A SASL request of a re-authentication: it goes out while other requests are held.
    var isAuthentication = false
}

/// Asks the ``ResponseDispatcher`` to hold or release requests around a re-authentication
/// (KIP-368): a broker reads everything between SaslHandshake and the last SaslAuthenticate as
/// SASL tokens, so nothing else may be in flight or sent meanwhile.
enum ReauthenticationEvent {
    /// Holds every later request that is not ``OutboundRequest/isAuthentication``; `drained`
    /// succeeds once no request is in flight.
    case hold(drained: EventLoopPromise<Void>)
    /// Sends the held requests, in order, and lets later ones through.
    case release
}

/// Matches response frames to the requests in flight on one connection by correlation id, so
/// any number of requests can be pipelined. A request not answered within its timeout fails
/// with ``SamsaClientError/requestTimedOut(api:broker:timeoutMs:)`` and the connection is
/// closed, as Kafka clients do, since the stream can no longer be trusted. When the connection
/// closes, every request still in flight fails.
final class ResponseDispatcher: ChannelDuplexHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundIn = OutboundRequest
    typealias OutboundOut = ByteBuffer

    private struct Pending {
        var promise: EventLoopPromise<ByteBuffer>
        var timer: Scheduled<Void>?
        var apiKey: ApiKey
        var timeout: TimeAmount
    }

    private let broker: String
    private var pending: [Int32: Pending] = [:]
    private var closedError: (any Error)?
    /// While a re-authentication runs: the requests held back, and the promise that waits for
    /// the ones in flight to be answered.
    private var held: [(request: OutboundRequest, promise: EventLoopPromise<Void>?)]?
    private var drained: EventLoopPromise<Void>?

    init(broker: String) {
        self.broker = broker
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        let request = unwrapOutboundIn(data)
        if held != nil, !request.isAuthentication, closedError == nil {
            held?.append((request, promise))
            return
        }
        send(request, context: context, promise: promise)
    }

    func triggerUserOutboundEvent(context: ChannelHandlerContext, event: Any, promise: EventLoopPromise<Void>?) {
        guard let event = event as? ReauthenticationEvent else {
            context.triggerUserOutboundEvent(event, promise: promise)
            return
        }
        switch event {
        case .hold(let drained):
            if let closedError {
                drained.fail(closedError)
            } else {
                held = held ?? []
                self.drained = drained
                drainedIfIdle()
            }
        case .release:
            let requests = held ?? []
            held = nil
            drained?.fail(SamsaClientError.connectionClosed(broker: broker))
            drained = nil
            for (request, writePromise) in requests { send(request, context: context, promise: writePromise) }
            context.flush()
        }
        promise?.succeed(())
    }

    /// Succeeds the hold's promise once nothing is in flight.
    private func drainedIfIdle() {
        guard pending.isEmpty, let drained else { return }
        self.drained = nil
        drained.succeed(())
    }

    private func send(_ request: OutboundRequest, context: ChannelHandlerContext, promise: EventLoopPromise<Void>?) {
        if let closedError {
            request.response?.fail(closedError)
            promise?.fail(closedError)
            return
        }
        if let response = request.response {
            let apiKey = ApiKey(rawValue: request.frame.getInteger(at: request.frame.readerIndex + 4, as: Int16.self) ?? -1)
            let correlationId = request.correlationId
            let loopBound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
            let timer = context.eventLoop.scheduleTask(in: request.timeout) {
                let (dispatcher, context) = loopBound.value
                dispatcher.timedOut(correlationId, context: context)
            }
            pending[correlationId] = Pending(promise: response, timer: timer, apiKey: apiKey, timeout: request.timeout)
        }
        context.write(wrapOutboundOut(request.frame), promise: promise)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let frame = unwrapInboundIn(data)
        guard let correlationId = frame.getInteger(at: frame.readerIndex, as: Int32.self),
            let entry = pending.removeValue(forKey: correlationId)
        else {
            // The answer to a request that timed out (the connection is closing), or garbage.
            return
        }
        entry.timer?.cancel()
        entry.promise.succeed(frame)
        drainedIfIdle()
    }

    func channelInactive(context: ChannelHandlerContext) {
        failAll(SamsaClientError.connectionClosed(broker: broker))
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        failAll(error)
        context.close(promise: nil)
    }

    private func timedOut(_ correlationId: Int32, context: ChannelHandlerContext) {
        guard let entry = pending.removeValue(forKey: correlationId) else { return }
        let error = SamsaClientError.requestTimedOut(
            api: entry.apiKey, broker: broker, timeoutMs: entry.timeout.nanoseconds / 1_000_000)
        entry.promise.fail(error)
        failAll(SamsaClientError.connectionClosed(broker: broker))
        context.close(promise: nil)
    }

    private func failAll(_ error: any Error) {
        if closedError == nil { closedError = error }
        let entries = pending
        pending = [:]
        for entry in entries.values {
            entry.timer?.cancel()
            entry.promise.fail(error)
        }
        let requests = held ?? []
        held = nil
        for (request, promise) in requests {
            request.response?.fail(error)
            promise?.fail(error)
        }
        drained?.fail(error)
        drained = nil
    }
}
