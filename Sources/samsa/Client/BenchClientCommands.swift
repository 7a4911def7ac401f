import ArgumentParser
#if canImport(Glibc)
import Glibc
#endif
import NIOConcurrencyHelpers
import NIOCore
import SamsaClient

/// `samsa bench produce`: SamsaClient's producer throughput against a cluster.
struct BenchProduceCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "produce",
        abstract: "Produce records as fast as SamsaClient can and report the rate.",
        discussion: """
            Example: samsa bench produce -b 127.0.0.1:9092 --topic bench --records 500000 --record-size 1024 --acks all
            """
    )

    @OptionGroup var client: ClientOptions

    @Option(help: "The topic (created by the broker's auto-creation if missing).")
    var topic: String = "samsa-bench"

    @Option(help: "How many records.")
    var records: Int = 200_000

    @Option(name: .customLong("record-size"), help: "Bytes per record value.")
    var recordSize: Int = 1024

    @Option(help: "Acknowledgements: all, 1 or 0.")
    var acks: String = "all"

    @Option(help: "The partition to write to.")
    var partition: Int32 = 0

    @Option(name: .customLong("batch"), help: "Records per call: 1 uses send per record, more uses the bulk sendWithoutWaiting([records]).")
    var recordsPerCall: Int = 1

    func run() async throws {
        var extra = ["acks": acks, "linger.ms": "5", "batch.size": "1000000"]
        if acks != "all" && acks != "-1" { extra["enable.idempotence"] = "false" }
        let configuration = try ProducerConfiguration(properties: try client.kafkaProperties(adding: extra))
        let producer = try KafkaProducer(configuration: configuration)
        let value = ByteBuffer(repeating: UInt8(ascii: "x"), count: recordSize)
        let failures = NIOLockedValueBox(0)
        // Warm-up: connections, producer id, metadata.
        _ = try await producer.send(ProducerRecord(topic: topic, value: value, partition: partition))
        let start = ContinuousClock.now
        var lastReport = start
        let onDelivery: @Sendable (Result<RecordMetadata, any Error>) -> Void = { result in
            if case .failure = result { failures.withLockedValue { $0 += 1 } }
        }
        let record = ProducerRecord(topic: topic, value: value, partition: partition)
        var sent = 0
        while sent < records {
            if recordsPerCall > 1 {
                let count = min(recordsPerCall, records - sent)
                try await producer.sendWithoutWaiting(Array(repeating: record, count: count), onDelivery: onDelivery)
                sent += count
            } else {
                try await producer.sendWithoutWaiting(record, onDelivery: onDelivery)
                sent += 1
            }
            if sent % 10_000 < max(recordsPerCall, 1), ContinuousClock.now - lastReport >= .seconds(1) {
                lastReport = .now
                BenchReport.progress(records: sent, bytes: sent * recordSize, since: start)
            }
        }
        await producer.flush()
        let elapsed = ContinuousClock.now - start
        await producer.close()
        BenchReport.summary(records: records - failures.withLockedValue { $0 }, bytes: records * recordSize, elapsed: elapsed)
        if failures.withLockedValue({ $0 }) > 0 { throw CommandFailure.exit("\(failures.withLockedValue { $0 }) records failed") }
    }
}

/// `samsa bench consume`: SamsaClient's consumer throughput over a backlog.
struct BenchConsumeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "consume",
        abstract: "Read a backlog as fast as SamsaClient can and report the rate.",
        discussion: "Example: samsa bench consume -b 127.0.0.1:9092 --topic bench --records 500000"
    )

    @OptionGroup var client: ClientOptions

    @Option(help: "The topic.")
    var topic: String = "samsa-bench"

    @Option(help: "How many records to read (from the beginning of the partition).")
    var records: Int = 200_000

    @Option(help: "The partition to read.")
    var partition: Int32 = 0

    func run() async throws {
        let configuration = try ConsumerConfiguration(properties: try client.kafkaProperties(adding: ["enable.auto.commit": "false"]))
        let consumer = try KafkaConsumer(configuration: configuration)
        try await consumer.assign([TopicPartition(topic, partition): .earliest])
        let start = ContinuousClock.now
        var lastReport = start
        var read = 0
        var bytes = 0
        for try await record in consumer.records {
            read += 1
            bytes += record.value?.readableBytes ?? 0
            if read == records { break }
            if read % 10_000 == 0, ContinuousClock.now - lastReport >= .seconds(1) {
                lastReport = .now
                BenchReport.progress(records: read, bytes: bytes, since: start)
            }
        }
        let elapsed = ContinuousClock.now - start
        await consumer.close()
        BenchReport.summary(records: read, bytes: bytes, elapsed: elapsed)
    }
}

/// Progress lines (standard error) and the summary line (standard output: `records seconds MB/s records/s`).
enum BenchReport {
    static func progress(records: Int, bytes: Int, since start: ContinuousClock.Instant) {
        let seconds = seconds(ContinuousClock.now - start)
        let line = "\(records) records, \(format(Double(bytes) / seconds / 1e6)) MB/s, \(format(Double(records) / seconds)) records/s\n"
        _ = line.withCString { write(2, $0, strlen($0)) }
    }

    static func summary(records: Int, bytes: Int, elapsed: Duration) {
        let seconds = seconds(elapsed)
        StandardOutput.write(
            "\(records) \(format(seconds, digits: 6)) \(format(Double(bytes) / seconds / 1e6)) MB/s \(format(Double(records) / seconds)) records/s\n"
        )
    }

    static func seconds(_ duration: Duration) -> Double {
        Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
    }

    static func format(_ value: Double, digits: Int = 1) -> String {
        var scaled = value
        for _ in 0..<digits { scaled *= 10 }
        let rounded = (scaled).rounded()
        var text = String(Int64(rounded))
        guard digits > 0 else { return text }
        while text.count <= digits { text = "0" + text }
        text.insert(".", at: text.index(text.endIndex, offsetBy: -digits))
        return text
    }
}
