import NIOCore
import NIOEmbedded
import SamsaProtocol
import SamsaRecords

/// What the fuzzer does with one input: everything a broker does with bytes from a client
/// before a handler runs. The input is decoded as one request frame (header and body), then
/// fed as a byte stream through the frame decoder, each frame decoded in turn; the record
/// batches of Produce requests are scanned and their records decoded (checksums not
/// verified, so mutations reach the decoders), within a decompression budget.
///
/// Any outcome but a crash, a hang or an allocation out of proportion to the input is fine:
/// bad input must end in a thrown error.
public enum RequestFuzzing {
    /// The frame limit the stream is decoded with (Kafka's pre-authentication limit).
    static let maxFrameBytes = 512 * 1024
    /// The most bytes a batch may decompress to.
    static let maxDecompressedBytes = 8 * 1024 * 1024

    public static func run(_ input: UnsafeRawBufferPointer) {
        let allocator = ByteBufferAllocator()
        var single = allocator.buffer(capacity: input.count)
        single.writeBytes(input)
        decodeFrame(single)

        let channel = EmbeddedChannel()
        defer { _ = try? channel.finish() }
        do {
            try channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(KafkaFrameDecoder(maxFrameBytes: maxFrameBytes)))
            try channel.writeInbound(single)
        } catch {
            return
        }
        while let frame = try? channel.readInbound(as: ByteBuffer.self) {
            decodeFrame(frame)
        }
    }

    private static func decodeFrame(_ frame: ByteBuffer) {
        var buffer = frame
        guard let request = try? KafkaRequest.decode(from: &buffer) else { return }
        guard let produce = request.body as? ProduceRequest else { return }
        for topic in produce.topicData {
            for partition in topic.partitionData {
                guard let records = partition.records else { continue }
                var scanner = RecordBatchScanner(records, allowsTrailingPartialBatch: true, verifiesChecksums: false)
                while let batch = try? scanner.nextBatch() {
                    _ = try? batch.decodeRecords(maxDecompressedBytes: maxDecompressedBytes)
                }
            }
        }
    }
}
