import NIOConcurrencyHelpers
import NIOCore

/// Splits an inbound byte stream into Kafka frames (requests on a broker, responses on a
/// client): an int32 size followed by that many bytes. Emits each frame's body (without the
/// size) as a `ByteBuffer`.
///
/// A negative size, or one above `maxFrameBytes`, is an error: the connection is closed before
/// any memory is reserved for the frame (Kafka's `InvalidReceiveException`).
public struct KafkaFrameDecoder: ByteToMessageDecoder {
    public typealias InboundOut = ByteBuffer

    /// The largest frame accepted, in bytes (Kafka's `socket.request.max.bytes` on a broker).
    public var maxFrameBytes: Int { limit.bytes }
    private let limit: FrameSizeLimit

    public init(maxFrameBytes: Int) {
        self.init(limit: FrameSizeLimit(maxFrameBytes))
    }

    /// A decoder whose limit can change while it runs: a broker raises it once a connection
    /// has authenticated (Kafka's `sasl.server.max.receive.size` applies before).
    public init(limit: FrameSizeLimit) {
        self.limit = limit
    }

    public mutating func decode(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws -> DecodingState {
        guard let size = buffer.getInteger(at: buffer.readerIndex, as: Int32.self) else {
            return .needMoreData
        }
        let maxFrameBytes = limit.bytes
        guard size >= 0, Int(size) <= maxFrameBytes else {
            throw FrameSizeError(size: Int(size), maxFrameBytes: maxFrameBytes)
        }
        guard buffer.readableBytes >= 4 + Int(size) else {
            return .needMoreData
        }
        buffer.moveReaderIndex(forwardBy: 4)
        let frame = buffer.readSlice(length: Int(size))!
        context.fireChannelRead(wrapInboundOut(frame))
        return .continue
    }

    public mutating func decodeLast(context: ChannelHandlerContext, buffer: inout ByteBuffer, seenEOF: Bool) throws -> DecodingState {
        // A partial frame at end of stream is dropped: the peer went away mid-request.
        while try decode(context: context, buffer: &buffer) == .continue {}
        return .needMoreData
    }
}

/// The largest frame a ``KafkaFrameDecoder`` accepts, shared with whoever may change it.
public final class FrameSizeLimit: Sendable {
    private let box: NIOLockedValueBox<Int>

    public init(_ bytes: Int) {
        precondition(bytes > 0, "a frame size limit must be positive")
        box = NIOLockedValueBox(bytes)
    }

    /// The limit now, in bytes.
    public var bytes: Int {
        get { box.withLockedValue { $0 } }
        set {
            precondition(newValue > 0, "a frame size limit must be positive")
            box.withLockedValue { $0 = newValue }
        }
    }
}

/// A frame whose size field is negative or over the limit.
public struct FrameSizeError: Error, CustomStringConvertible {
    public let size: Int
    public let maxFrameBytes: Int

    public var description: String {
        size < 0
            ? "invalid frame size \(size)"
            : "frame of \(size) bytes exceeds the limit of \(maxFrameBytes) bytes"
    }
}
