import ArgumentParser
import NIOConcurrencyHelpers
import NIOCore
import SamsaClient

/// `samsa bench e2e`: the time from a producer's send to a consumer's receipt of the record.
struct BenchE2ECommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "e2e",
        abstract: "Produce and consume at once; report the rate and the end-to-end latency.",
        discussion: """
            Examples:
              samsa bench e2e --records 100000 --record-size 256
              samsa bench e2e --duration 30 --partitions 6 --acks 1 --json

            A consumer in the same process reads the partitions from their ends while \
            the producers write. Each value starts with its send time (8 bytes, a \
            monotonic clock), so the latency is the time from send to the consumer \
            handing the record out: batching, the write, the acknowledgement policy, \
            the fetch and decoding included. The summary gives records/s and MB/s as \
            consumed, the end-to-end percentiles of every record (latency_ms) and the \
            send-to-ack percentiles of one send in 16 (ack_latency_ms).
            """
    )

    @OptionGroup var client: ClientOptions
    @OptionGroup var options: BenchOptions

    @OptionGroup var producing: BenchProducingOptions

    func validate() throws {
        guard options.recordSize >= 8 else { throw ValidationError("--record-size must be at least 8 (the send time)") }
    }

    func run() async throws {
        let producers = try BenchProducers(options, client: client, producing: producing)
        let configuration: ConsumerConfiguration
        // One set of -X properties for both: each takes those it knows (linger.ms goes to the
        // producers, fetch.min.bytes to the consumer); one neither knows is an error.
        var unknown = Set<String>()
        do {
            configuration = try ConsumerConfiguration(
                properties: try client.kafkaProperties(adding: ["enable.auto.commit": "false"]), unknown: &unknown)
        } catch {
            throw ValidationError("\(error)")
        }
        try BenchProducers.refuse(unknown: unknown.intersection(producers.unknownProperties))
        let consumer = try KafkaConsumer(configuration: configuration)
        do {
            try await options.prepareTopic(client)
            let partitions = (0..<options.partitions).map { TopicPartition(options.topic, $0) }
            // Positions are fixed when assign returns, so every record sent after it is read.
            try await consumer.assign(Dictionary(uniqueKeysWithValues: partitions.map { ($0, OffsetSpec.latest) }))
            try await measure(producers, try await producers.connect(), consumer)
        } catch {
            await consumer.close()
            if error is ValidationError || error is ExitCode { throw error }
            throw CommandFailure.exit(ClientErrorText.describe(error, brokers: client.bootstrap))
        }
        await consumer.close()
    }

    private func measure(_ producers: BenchProducers, _ connected: [KafkaProducer], _ consumer: KafkaConsumer) async throws {
        let received = BenchCounters()
        let endToEnd = LatencyRecorder()
        // The number of records to wait for, known once the producers are done (in a timed run,
        // or when some failed).
        let target = NIOLockedValueBox<Int?>(nil)
        let start = ContinuousClock.now
        let progress = BenchReport.progress(start: start) { [sent = producers.counters] seconds in
            "\(sent.records) acknowledged; received "
                + BenchReport.rate(records: received.receivedRecords, bytes: received.bytes, seconds: seconds)
                + ", end-to-end p99 \(BenchReport.format(endToEnd.summary.p99, digits: 3)) ms"
        }
        defer { progress.cancel() }
        let template = ByteBuffer(repeating: UInt8(ascii: "x"), count: options.recordSize)
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                for try await batch in consumer.batches {
                    let now = NIODeadline.now().uptimeNanoseconds
                    var bytes = 0
                    for record in batch {
                        guard let value = record.value, let sent = value.getInteger(at: value.readerIndex, as: UInt64.self) else {
                            continue
                        }
                        endToEnd.record(nanoseconds: now &- sent)
                        bytes += value.readableBytes
                    }
                    // Counted before the target is read; the producers' side sets the target before
                    // reading the count, so one of the two sees the run complete.
                    let total = received.received(batch.count, bytes: bytes)
                    if let goal = target.withLockedValue({ $0 }), total >= goal { break }
                }
            }
            try await producers.run(connected) {
                var value = template
                value.setInteger(NIODeadline.now().uptimeNanoseconds, at: value.readerIndex)
                return value
            }
            let goal = producers.counters.records
            target.withLockedValue { $0 = goal }
            if received.receivedRecords >= goal { await consumer.close() }
            try await group.waitForAll()
        }
        let elapsed = ContinuousClock.now - start
        progress.cancel()
        let failed = producers.counters.failures
        BenchReport.summary(
            mode: "e2e", records: received.receivedRecords, bytes: received.bytes, failed: failed, elapsed: elapsed,
            latency: endToEnd.summary, extra: ["ack_latency_ms": producers.latency.summary.json], json: options.json)
        if failed > 0 { throw CommandFailure.exit("\(failed) records failed") }
    }
}
