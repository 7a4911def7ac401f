import NIOCore
import NIOEmbedded
import Testing

@testable import SamsaBroker

/// A connection's answers are written as they complete and flushed together, once the event
/// loop has run the tasks queued before the flush.
@Suite("CoalescedFlush")
struct CoalescedFlushTests {
    /// Counts the flushes that reach the channel.
    private final class FlushCounter: ChannelOutboundHandler, @unchecked Sendable {
        typealias OutboundIn = ResponseFrame
        var flushes = 0

        func flush(context: ChannelHandlerContext) {
            flushes += 1
            context.flush()
        }
    }

    private func answer(_ text: String) -> ResponseFrame {
        var body = ByteBuffer()
        body.writeString(text)
        return ResponseFrame(body: body)
    }

    @Test("answers written in one pass of the loop go out in one flush, and in order")
    func oneFlushForAnswersWrittenTogether() throws {
        let counter = FlushCounter()
        let channel = EmbeddedChannel(handler: counter)
        let flusher = CoalescedFlush(channel: channel)
        let writes = (0..<3).map { flusher.write(answer("answer \($0)")) }
        #expect(try channel.readOutbound(as: ResponseFrame.self) == nil, "nothing goes out before the flush runs")
        channel.embeddedEventLoop.run()
        #expect(counter.flushes == 1)
        for index in 0..<3 {
            let frame = try #require(try channel.readOutbound(as: ResponseFrame.self))
            guard case .byteBuffer(let body) = try #require(frame.parts.first) else {
                Issue.record("an answer built from bytes is one buffer")
                return
            }
            #expect(String(buffer: body) == "answer \(index)")
            try writes[index].wait()
        }
        // A later answer gets a flush of its own.
        _ = flusher.write(answer("later"))
        channel.embeddedEventLoop.run()
        #expect(counter.flushes == 2)
        #expect(try channel.readOutbound(as: ResponseFrame.self) != nil)
        _ = try channel.finish()
    }
}
