import ArgumentParser
import NIOCore
import SamsaClient
import SamsaProtocol

/// The options the client benchmarks share.
struct BenchOptions: ParsableArguments {
    @Option(help: "The topic (created with --partitions partitions when missing).")
    var topic: String = "samsa-bench"

    @Option(help: "How many records (ignored with --duration).")
    var records: Int = 200_000

    @Option(help: ArgumentHelp("Run for this many seconds instead of a number of records.", valueName: "seconds"))
    var duration: Int?

    @Option(name: .customLong("record-size"), help: "Bytes per record value.")
    var recordSize: Int = 1024

    @Option(help: "Spread the records round-robin over partitions 0..<N.")
    var partitions: Int32 = 1

    @Option(help: "Clients working at once (producers, or consumers splitting the partitions).")
    var concurrency: Int = 1

    @Flag(help: "Print the summary as one JSON object.")
    var json = false

    func validate() throws {
        guard records > 0, recordSize >= 0, partitions > 0, concurrency > 0, (duration ?? 1) > 0 else {
            throw ValidationError("--records, --partitions, --concurrency and --duration must be positive")
        }
    }

    /// Creates the topic with `partitions` partitions when it does not exist; fails when it has fewer.
    func prepareTopic(_ client: ClientOptions) async throws {
        try await withAdmin(client, clientPropertiesOnly: true) { admin in
            do {
                let count = try await admin.describeTopics([topic]).first?.partitions.count ?? 0
                guard count >= partitions else {
                    throw ValidationError("topic '\(topic)' has \(count) partitions, fewer than --partitions \(partitions)")
                }
            } catch let error as KafkaError where error.code == .unknownTopicOrPartition {
                do {
                    try await admin.createTopic(NewTopic(name: topic, partitions: partitions))
                } catch let error as KafkaError where error.code == .topicAlreadyExists {
                    // Created meanwhile (by auto-creation or another run): fine.
                }
            }
        }
    }
}

/// How the benchmark's producers write: `bench produce` and `bench e2e`.
struct BenchProducingOptions: ParsableArguments {
    @Option(help: "Acknowledgements: all, 1 or 0.")
    var acks: String = "all"

    @Option(name: [.customShort("z"), .customLong("compression")], help: "none, gzip, snappy, lz4 or zstd.")
    var compression: String = "none"

    @Option(help: ArgumentHelp("Send at most this many records per second in all (default: as fast as possible).", valueName: "records/s"))
    var rate: Int?

    func validate() throws {
        if let rate, rate <= 0 { throw ValidationError("--rate must be positive") }
    }
}

/// Paces one producer to a rate: it sleeps only once it is at least 2 ms ahead of the schedule,
/// as Kafka's `ThroughputThrottler` does, so sends go in short bursts rather than one sleep per
/// record.
struct BenchPacer {
    let recordsPerSecond: Double
    let start = ContinuousClock.now
    private(set) var sent = 0

    init(recordsPerSecond: Double) {
        self.recordsPerSecond = recordsPerSecond
    }

    /// Counts a record and waits if the schedule is ahead.
    mutating func pace() async throws {
        sent += 1
        let due = start + .nanoseconds(Int64(Double(sent) / recordsPerSecond * 1e9))
        if due - ContinuousClock.now >= .milliseconds(2) { try await Task.sleep(until: due, clock: .continuous) }
    }
}

/// Producers writing a benchmark's records round-robin over the partitions, each record's
/// send-to-acknowledgement time going to `latency`.
struct BenchProducers {
    var options: BenchOptions
    var configuration: ProducerConfiguration
    var recordsPerCall = 1
    /// Records per second across all producers, or nil for as fast as they go.
    var rate: Int?
    /// The `-X` properties a producer does not know: an error, unless another client of the
    /// command (e2e's consumer) knows them.
    let unknownProperties: Set<String>
    let counters = BenchCounters()
    let latency = LatencyRecorder()

    init(_ options: BenchOptions, client: ClientOptions, producing: BenchProducingOptions) throws {
        self.options = options
        self.rate = producing.rate
        let acks = producing.acks
        var extra = ["acks": acks, "compression.type": producing.compression, "linger.ms": "5", "batch.size": "1000000"]
        if acks != "all" && acks != "-1" { extra["enable.idempotence"] = "false" }
        var unknown = Set<String>()
        do {
            configuration = try ProducerConfiguration(properties: try client.kafkaProperties(adding: extra), unknown: &unknown)
        } catch {
            throw ValidationError("\(error)")
        }
        unknownProperties = unknown
        // Deliveries are counted from the per-batch reports, the way a fast application follows
        // them; only the timed sends carry a callback.
        configuration.deliveryReports = true
    }

    /// Fails with the names of `unknown` properties, unless there are none.
    static func refuse(unknown: Set<String>) throws {
        guard unknown.isEmpty else { throw ValidationError("unknown properties: \(unknown.sorted().joined(separator: ", "))") }
    }

    /// One call in this many is timed from send to acknowledgement.
    static let latencySample = 16

    /// One connected producer per worker (`--concurrency`): connections, the topic's metadata
    /// and producer ids are in place before the clock starts, as librdkafka connects from its
    /// constructor.
    func connect() async throws -> [KafkaProducer] {
        var producers: [KafkaProducer] = []
        for _ in 0..<options.concurrency {
            let producer = try KafkaProducer(configuration: configuration)
            producers.append(producer)
            try await producer.connect(topics: [options.topic])
        }
        return producers
    }

    /// Sends every record (or until the duration is over) with `producers` (from `connect()`)
    /// and waits for their acknowledgements; closes the producers. `value` makes each record's
    /// value at the moment it is sent.
    func run(_ producers: [KafkaProducer], value: @escaping @Sendable () -> ByteBuffer) async throws {
        let deadline = options.duration.map { ContinuousClock.now + .seconds($0) }
        try await withThrowingTaskGroup(of: Void.self) { group in
            for (worker, producer) in producers.enumerated() {
                group.addTask { [counters, recordSize = options.recordSize] in
                    for await report in producer.deliveryReports {
                        if report.error == nil {
                            counters.delivered(report.recordCount, bytes: report.recordCount * recordSize)
                        } else {
                            counters.failed(report.recordCount)
                        }
                    }
                }
                group.addTask { [options, recordsPerCall, latency, rate] in
                    // Read once: an option's property wrapper costs more than a send.
                    let (total, partitions, topic, step) = (options.records, Int(options.partitions), options.topic, options.concurrency)
                    var pacer = rate.map { BenchPacer(recordsPerSecond: Double($0) / Double(step)) }
                    do {
                        // Record i goes to partition i % partitions; worker w sends i = w, w + concurrency, ...
                        // One call in `latencySample` is timed, so the timing does not slow the
                        // rate it measures.
                        var index = worker
                        var calls = 0
                        while deadline.map({ ContinuousClock.now < $0 }) ?? (index < total) {
                            calls += 1
                            var onDelivery: (@Sendable (Result<RecordMetadata, any Error>) -> Void)?
                            if calls % Self.latencySample == 0 {
                                let sent = NIODeadline.now().uptimeNanoseconds
                                onDelivery = { result in
                                    if case .success = result { latency.record(nanoseconds: NIODeadline.now().uptimeNanoseconds - sent) }
                                }
                            }
                            if recordsPerCall == 1 {
                                try await pacer?.pace()
                                let record = ProducerRecord(topic: topic, value: value(), partition: Int32(index % partitions))
                                index += step
                                if try !producer.trySendWithoutWaiting(record, onDelivery: onDelivery) {
                                    try await producer.sendWithoutWaiting(record, onDelivery: onDelivery)
                                }
                                continue
                            }
                            var batch: [ProducerRecord] = []
                            batch.reserveCapacity(recordsPerCall)
                            while batch.count < recordsPerCall, deadline != nil || index < total {
                                try await pacer?.pace()
                                batch.append(ProducerRecord(topic: topic, value: value(), partition: Int32(index % partitions)))
                                index += step
                            }
                            try await producer.sendWithoutWaiting(batch, onDelivery: onDelivery)
                        }
                        await producer.flush()
                    } catch {
                        await producer.close()
                        throw error
                    }
                    await producer.close()
                }
            }
            try await group.waitForAll()
        }
    }
}

/// `samsa bench produce`: SamsaClient's producer throughput and send-to-ack latency.
struct BenchProduceCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "produce",
        abstract: "Produce records as fast as SamsaClient can; report the rate and send-to-ack latency.",
        discussion: """
            Examples:
              samsa bench produce --records 500000 --record-size 1024 --acks all
              samsa bench produce --duration 30 --partitions 6 --concurrency 3 --json

            A progress line goes to standard error every second; the summary to \
            standard output: records, seconds, MB/s, records/s, and the percentiles \
            p50, p95, p99, p99.9 and max of the time from send to acknowledgement \
            (one send in 16 is timed, so timing does not slow the rate), from an HDR \
            histogram (--json: one object, latency_ms in milliseconds).
            """
    )

    @OptionGroup var client: ClientOptions
    @OptionGroup var options: BenchOptions

    @OptionGroup var producing: BenchProducingOptions

    @Option(name: .customLong("batch"), help: "Records per call: 1 uses send per record, more uses the bulk sendWithoutWaiting([records]).")
    var recordsPerCall: Int = 1

    func run() async throws {
        var producers = try BenchProducers(options, client: client, producing: producing)
        try BenchProducers.refuse(unknown: producers.unknownProperties)
        producers.recordsPerCall = max(recordsPerCall, 1)
        do {
            try await options.prepareTopic(client)
            let value = ByteBuffer(repeating: UInt8(ascii: "x"), count: options.recordSize)
            let connected = try await producers.connect()
            let start = ContinuousClock.now
            let progress = BenchReport.progress(start: start) { [counters = producers.counters, latency = producers.latency] seconds in
                BenchReport.rate(records: counters.records, bytes: counters.bytes, seconds: seconds)
                    + ", p99 \(BenchReport.format(latency.summary.p99, digits: 3)) ms"
            }
            defer { progress.cancel() }
            try await producers.run(connected) { value }
            let elapsed = ContinuousClock.now - start
            progress.cancel()
            let counters = producers.counters
            BenchReport.summary(
                mode: "produce", records: counters.records, bytes: counters.bytes, failed: counters.failures, elapsed: elapsed,
                latency: producers.latency.summary, json: options.json)
            if counters.failures > 0 { throw CommandFailure.exit("\(counters.failures) records failed") }
        } catch let error as ValidationError {
            throw error
        } catch let error as ExitCode {
            throw error
        } catch {
            throw CommandFailure.exit(ClientErrorText.describe(error, brokers: client.bootstrap))
        }
    }
}

/// `samsa bench consume`: SamsaClient's consumer throughput over a backlog.
struct BenchConsumeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "consume",
        abstract: "Read a backlog as fast as SamsaClient can and report the rate.",
        discussion: """
            Examples:
              samsa bench produce --records 500000 && samsa bench consume --records 500000
              samsa bench consume --partitions 6 --concurrency 2 --json

            Reads partitions 0..<--partitions from the beginning until --records \
            records (the backlog must hold that many) or --duration seconds. Latency \
            is not measured here (latency_ms is null): `samsa bench e2e` measures the \
            time from produce to consume.
            """
    )

    @OptionGroup var client: ClientOptions
    @OptionGroup var options: BenchOptions

    func run() async throws {
        let configuration: ConsumerConfiguration
        do {
            configuration = try ConsumerConfiguration(properties: try client.kafkaProperties(adding: ["enable.auto.commit": "false"]))
        } catch {
            throw ValidationError("\(error)")
        }
        let counters = BenchCounters()
        let target = options.duration == nil ? options.records : Int.max
        let consumers = try (0..<options.concurrency).map { _ in try KafkaConsumer(configuration: configuration) }
        do {
            for (index, consumer) in consumers.enumerated() {
                let mine = (0..<options.partitions).filter { Int($0) % consumers.count == index }
                try await consumer.assign(
                    Dictionary(uniqueKeysWithValues: mine.map { (TopicPartition(options.topic, $0), OffsetSpec.earliest) }))
            }
            let start = ContinuousClock.now
            let progress = BenchReport.progress(start: start) { seconds in
                BenchReport.rate(records: counters.receivedRecords, bytes: counters.bytes, seconds: seconds)
            }
            defer { progress.cancel() }
            let elapsed = try await withThrowingTaskGroup(of: Void.self) { group in
                for consumer in consumers {
                    group.addTask {
                        for try await batch in consumer.batches {
                            let bytes = batch.reduce(0) { $0 + ($1.value?.readableBytes ?? 0) }
                            if counters.received(batch.count, bytes: bytes) >= target { break }
                        }
                    }
                }
                if let duration = options.duration {
                    group.addTask { try await Task.sleep(for: .seconds(duration)) }
                }
                // The first task to finish ends the run: the target reached or the time over.
                try await group.next()
                // Timed before closing: a close waits for the fetch in flight (a long poll).
                let elapsed = ContinuousClock.now - start
                for consumer in consumers { await consumer.close() }
                group.cancelAll()
                return elapsed
            }
            progress.cancel()
            BenchReport.summary(
                mode: "consume", records: counters.receivedRecords, bytes: counters.bytes, elapsed: elapsed, latency: nil,
                json: options.json)
        } catch {
            for consumer in consumers { await consumer.close() }
            if error is ValidationError { throw error }
            throw CommandFailure.exit(ClientErrorText.describe(error, brokers: client.bootstrap))
        }
    }
}
