#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import CoreMetrics
import Logging
import NIOConcurrencyHelpers
import NIOCore
import SamsaBinary
import SamsaProtocol
import SamsaRecords
import ServiceLifecycle

/// Produces records to a Kafka-compatible cluster.
///
/// ```swift
/// let producer = try KafkaProducer(configuration: ProducerConfiguration(client: .init(bootstrapServers: "localhost:9092")))
/// let written = try await producer.send(ProducerRecord(topic: "payments", key: "user-42", value: "{\"amount\": 10}"))
/// try await producer.close()
/// ```
///
/// Records are batched per partition (`linger.ms`, `batch.size`) and sent by a background
/// task, one request per broker carrying every partition it leads. The producer is idempotent
/// by default: it takes a producer id, numbers each partition's batches, and retries failed
/// batches with the same numbers until `delivery.timeout.ms`, so a record is written once and
/// in order even when an answer is lost. Up to `max.in.flight.requests.per.connection` (5)
/// batches of a partition are in flight at once, pipelined on one connection in sequence order.
///
/// It is a ServiceLifecycle `Service`: in a `ServiceGroup`, a graceful shutdown flushes it.
public final class KafkaProducer: Sendable, Service {
    public let configuration: ProducerConfiguration
    let cluster: ClusterClient
    let metrics: ProducerMetrics
    let logger: Logger
    let state: NIOLockedValueBox<State>
    let wake = WakeSignal()
    /// One report per finished batch, with ``ProducerConfiguration/deliveryReports``; ends when
    /// the producer closes (at once without that setting).
    public let deliveryReports: AsyncStream<DeliveryReport>
    let deliveryReportContinuation: AsyncStream<DeliveryReport>.Continuation
    private let sender: NIOLockedValueBox<Task<Void, Never>?> = NIOLockedValueBox(nil)

    struct State {
        var accumulator: RecordAccumulator
        var producerId: Int64 = -1
        var producerEpoch: Int16 = -1
        var closed = false
        var transaction = TransactionState.uninitialized
        /// Partitions added to the running transaction (AddPartitionsToTxn).
        var transactionPartitions: Set<TopicPartition> = []
        /// The first error of the running transaction: it can then only be aborted.
        var transactionError: (any Error)?

        /// Throws unless a record may be sent now: the producer is open and, when it is
        /// transactional, a transaction runs.
        func checkSendable(transactional: Bool) throws {
            guard !closed else { throw SamsaClientError.closed }
            if transactional && transaction != .inTransaction { throw TransactionError.notInTransaction(transaction) }
        }

        /// Whether `size` more bytes fit in `buffer.memory` (a first record always fits).
        func hasRoom(for size: Int, limit: Int) -> Bool {
            accumulator.bufferedBytes == 0 || accumulator.bufferedBytes + size <= limit
        }
        var spaceWaiters: [CheckedContinuation<Void, Never>] = []
        var flushWaiters: [CheckedContinuation<Void, Never>] = []
    }

    /// Creates a producer; it connects on the first send.
    public init(configuration: ProducerConfiguration, logger: Logger = Logger(label: "samsa.producer")) throws {
        try configuration.validate()
        self.configuration = configuration
        self.logger = logger
        self.cluster = ClusterClient(configuration: configuration.client, logger: logger)
        self.metrics = ProducerMetrics(configuration: configuration.client)
        (deliveryReports, deliveryReportContinuation) = AsyncStream.makeStream(of: DeliveryReport.self)
        if !configuration.deliveryReports { deliveryReportContinuation.finish() }
        self.state = NIOLockedValueBox(
            State(
                accumulator: RecordAccumulator(
                    batchSize: configuration.batchSize, lingerMs: configuration.lingerMs,
                    deliveryTimeoutMs: configuration.deliveryTimeoutMs, compression: configuration.compression,
                    maxInFlight: configuration.maxInFlight)))
        let task = Task { [self] in await self.runSender() }
        sender.withLockedValue { $0 = task }
    }

    /// Connects ahead of the first send (KafkaJS's `producer.connect()`): reaches a broker,
    /// learns the partitions of `topics`, and takes the idempotent producer's id, so the first
    /// records do not wait for any of it. Sending without calling it works too.
    public func connect(topics: [String] = []) async throws {
        _ = try await cluster.anyConnection()
        if !topics.isEmpty { _ = try await cluster.metadata(for: topics, autoCreate: true) }
        if configuration.idempotence, configuration.transactionalId == nil,
            state.withLockedValue({ $0.producerId < 0 })
        {
            await initProducerId()
        }
    }

    // MARK: Sending

    /// Sends a record and returns where it was written once the broker acknowledged it (or
    /// the time it was handed over, with offset -1, for acks=0).
    public func send(_ record: ProducerRecord) async throws -> RecordMetadata {
        var partition = try knownPartition(record)
        if partition == nil { partition = try await partitionFromMetadata(record) }
        let timestamp = record.timestamp ?? Self.nowMilliseconds()
        try await waitForSpace(record.estimatedSize)
        return try await withCheckedThrowingContinuation { continuation in
            enqueue(record, partition: partition!, timestamp: timestamp, completion: .waiting(continuation))
        }
    }

    /// Queues a record without waiting for it; `onDelivery` (if given) is called with the
    /// outcome. Returns once the record is in the buffer (which may wait for space).
    ///
    /// It runs on the caller's executor (`nonisolated(nonsending)`): while the buffer has room
    /// and the topic is known it does not suspend, so a call costs no executor hop.
    nonisolated(nonsending) public func sendWithoutWaiting(
        _ record: ProducerRecord, onDelivery: (@Sendable (Result<RecordMetadata, any Error>) -> Void)? = nil
    ) async throws {
        // Synchronous while the topic is known and the buffer has room: no suspension, no hop,
        // and the record is not copied on the way.
        var partition = try knownPartition(record)
        if partition == nil { partition = try await partitionFromMetadata(record) }
        let timestamp = record.timestamp ?? Self.nowMilliseconds()
        let completion: RecordAccumulator.Completion = onDelivery.map { .callback($0) } ?? .none
        while try !appendOne(record, partition: partition!, timestamp: timestamp, completion: completion) {
            try await waitForSpace(record.estimatedSize)
        }
    }

    /// Queues a record if that can be done at once: the topic's partitions are known and the
    /// buffer has room. Returns false otherwise, having queued nothing; ``sendWithoutWaiting(_:onDelivery:)``
    /// then waits for the metadata or the room. A plain function, not `async`: a loop that
    /// calls it for every record and falls back to the async call only when it returns false
    /// pays no async call per record (franz-go's `TryProduce`, librdkafka's produce call that
    /// answers QUEUE_FULL).
    public func trySendWithoutWaiting(
        _ record: ProducerRecord, onDelivery: (@Sendable (Result<RecordMetadata, any Error>) -> Void)? = nil
    ) throws -> Bool {
        guard let partition = try knownPartition(record) else { return false }
        let timestamp = record.timestamp ?? Self.nowMilliseconds()
        return try appendOne(record, partition: partition, timestamp: timestamp, completion: onDelivery.map { .callback($0) } ?? .none)
    }

    /// Queues many records at once (KafkaJS's `sendBatch`), each with the same delivery
    /// callback; cheaper per record than one call each, since the checks and the buffer's lock
    /// are taken once per call. Returns once all are in the buffer.
    nonisolated(nonsending) public func sendWithoutWaiting(
        _ records: [ProducerRecord], onDelivery: (@Sendable (Result<RecordMetadata, any Error>) -> Void)? = nil
    ) async throws {
        var placed: [PlacedRecord] = []
        placed.reserveCapacity(records.count)
        for record in records {
            var partition = try knownPartition(record)
            if partition == nil { partition = try await partitionFromMetadata(record) }
            placed.append(PlacedRecord(record: record, partition: partition!, timestamp: record.timestamp ?? Self.nowMilliseconds()))
        }
        let completion: RecordAccumulator.Completion = onDelivery.map { .callback($0) } ?? .none
        var next = try appendRound(placed, from: placed.startIndex, completion: completion)
        while next != placed.endIndex {
            try await waitForSpace(placed[next].record.estimatedSize)
            next = try appendRound(placed, from: next, completion: completion)
        }
    }

    /// A record with its partition and timestamp chosen.
    private struct PlacedRecord {
        var record: ProducerRecord
        var partition: Int32
        var timestamp: Int64
    }

    /// Appends one record if the buffer has room for it (false otherwise).
    private func appendOne(
        _ record: ProducerRecord, partition: Int32, timestamp: Int64, completion: RecordAccumulator.Completion
    ) throws -> Bool {
        let limit = configuration.bufferMemory
        let transactional = configuration.transactionalId != nil
        let size = record.estimatedSize
        let wakeSender = try state.withLockedValue { state throws -> Bool? in
            try state.checkSendable(transactional: transactional)
            guard state.hasRoom(for: size, limit: limit) else { return nil }
            return state.accumulator.append(record, partition: partition, timestamp: timestamp, completion: completion)
        }
        guard let wakeSender else { return false }
        if wakeSender { wake.fire() }
        return true
    }

    /// Appends records of `placed` from `start` on, in order, as many as fit in the buffer,
    /// under one lock; returns the index of the first not appended.
    private func appendRound<Records: RandomAccessCollection<PlacedRecord>>(
        _ placed: Records, from start: Records.Index, completion: RecordAccumulator.Completion
    ) throws -> Records.Index {
        let limit = configuration.bufferMemory
        let transactional = configuration.transactionalId != nil
        let (end, wakeSender) = try state.withLockedValue { state throws -> (Records.Index, Bool) in
            try state.checkSendable(transactional: transactional)
            var index = start
            var wakeSender = false
            while index != placed.endIndex {
                guard state.hasRoom(for: placed[index].record.estimatedSize, limit: limit) else { break }
                if state.accumulator.append(
                    placed[index].record, partition: placed[index].partition, timestamp: placed[index].timestamp, completion: completion)
                {
                    wakeSender = true
                }
                index = placed.index(after: index)
            }
            return (index, wakeSender)
        }
        if wakeSender { wake.fire() }
        return end
    }

    /// Waits until every record sent so far is acknowledged or failed.
    public func flush() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let done = state.withLockedValue { state -> Bool in
                guard state.accumulator.unfinishedRecords > 0 else { return true }
                state.accumulator.flushing += 1
                state.flushWaiters.append(continuation)
                return false
            }
            if done { continuation.resume() } else { wake.fire() }
        }
    }

    /// Flushes, then closes the connections. Later sends fail with ``SamsaClientError/closed``.
    public func close() async {
        await flush()
        state.withLockedValue { $0.closed = true }
        wake.fire()
        await sender.withLockedValue { $0 }?.value
        deliveryReportContinuation.finish()
        await cluster.close()
    }

    /// Runs until a graceful shutdown, then closes (flushing what is buffered).
    public func run() async throws {
        try await gracefulShutdown()
        await close()
    }

    /// The record's partition when the topic's partition count is known: its own, or the
    /// partitioner's; nil when the metadata must be asked for first.
    private func knownPartition(_ record: ProducerRecord) throws -> Int32? {
        guard let count = cluster.snapshot.withLockedValue({ $0.rememberedPartitionCount(of: record.topic) }) else { return nil }
        return try partition(of: record, count: count)
    }

    private func partition(of record: ProducerRecord, count: Int) throws -> Int32 {
        let partition =
            record.partition
            ?? configuration.partitioner.partition(
                topic: record.topic, key: record.key, partitionCount: count, recordBytes: record.estimatedSize)
        guard partition >= 0, partition < count else {
            throw KafkaError(
                .unknownTopicOrPartition, message: "partition \(partition) of \(count)", topic: record.topic, partition: partition)
        }
        return partition
    }

    /// The record's partition once the topic's metadata is fetched (``knownPartition(_:)``
    /// found none).
    private func partitionFromMetadata(_ record: ProducerRecord) async throws -> Int32 {
        let metadata = try await cluster.metadata(for: [record.topic], autoCreate: true)
        guard let count = metadata.partitionCount(of: record.topic) else {
            throw KafkaError(metadata.topics[record.topic]?.error ?? .unknownTopicOrPartition, topic: record.topic)
        }
        return try partition(of: record, count: count)
    }

    private func waitForSpace(_ size: Int) async throws {
        let limit = configuration.bufferMemory
        while true {
            guard !state.withLockedValue({ $0.hasRoom(for: size, limit: limit) }) else { return }
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let stillFull = state.withLockedValue { state -> Bool in
                    guard !state.hasRoom(for: size, limit: limit) else { return false }
                    state.spaceWaiters.append(continuation)
                    return true
                }
                if !stillFull { continuation.resume() }
            }
            if state.withLockedValue({ $0.closed }) { throw SamsaClientError.closed }
        }
    }

    /// Appends a record whose room was waited for (another sender may have taken it since; the
    /// buffer then goes over by this one record).
    private func enqueue(_ record: ProducerRecord, partition: Int32, timestamp: Int64, completion: RecordAccumulator.Completion) {
        let transactional = configuration.transactionalId != nil
        let outcome = Result { () throws -> Bool in
            try state.withLockedValue { state in
                try state.checkSendable(transactional: transactional)
                return state.accumulator.append(record, partition: partition, timestamp: timestamp, completion: completion)
            }
        }
        switch outcome {
        case .failure(let error): Self.complete(completion, with: .failure(error))
        case .success(true): wake.fire()
        case .success(false): break
        }
    }

    // MARK: The sender

    private func runSender() async {
        while true {
            let idempotent = configuration.idempotence
            if idempotent, configuration.transactionalId == nil,
                state.withLockedValue({ $0.producerId < 0 && $0.accumulator.unfinishedRecords > 0 })
            {
                await initProducerId()
            }
            let transactional = configuration.transactionalId != nil
            let (ready, expired, nextCheck, closed) = state.withLockedValue { state in
                let (ready, expired, expiredWithSequence, nextCheck) = state.accumulator.drain(now: .now, idempotent: idempotent)
                if expiredWithSequence {
                    // The partition's sequences now have a gap the broker would refuse.
                    if transactional {
                        state.transactionError =
                            state.transactionError
                            ?? SamsaClientError.deliveryTimedOut(
                                topic: expired[0].key.topic, partition: expired[0].key.partition, lastError: expired[0].lastError)
                    } else {
                        state.producerId = -1
                        state.accumulator.resetSequences()
                    }
                }
                return (ready, expired, nextCheck, state.closed && state.accumulator.unfinishedRecords == 0)
            }
            for batch in expired {
                metrics.errors.increment(by: batch.recordCount)
                let error = SamsaClientError.deliveryTimedOut(
                    topic: batch.key.topic, partition: batch.key.partition, lastError: batch.lastError)
                Self.complete(batch.completions, with: .failure(error))
                report(batch, .failure(error))
            }
            if !expired.isEmpty { afterCompletion() }
            if closed { return }
            if ready.isEmpty {
                await wake.wait(until: nextCheck)
                continue
            }
            await dispatch(ready)
        }
    }

    /// Sends the ready batches, one request per leader and round (a request carries at most
    /// one batch per partition, so a partition's second batch in flight goes in the leader's
    /// second request). Requests are written here, in order, before anything else is sent: a
    /// partition's batches reach the broker in sequence order. Batches without a known leader
    /// wait for fresh metadata.
    private func dispatch(_ batches: [RecordAccumulator.Batch]) async {
        let topics = Array(Set(batches.map(\.key.topic)))
        let metadata: ClusterMetadata
        do {
            metadata = try await cluster.metadata(for: topics)
        } catch {
            for batch in batches { retry(batch, error: error) }
            return
        }
        var batches = batches
        if configuration.transactionalId != nil {
            batches = await addToTransaction(batches)
            guard !batches.isEmpty else { return }
        }
        var byLeader: [Int32: [RecordAccumulator.Batch]] = [:]
        for batch in batches {
            guard let leader = metadata.leader(of: batch.key.topic, partition: batch.key.partition) else {
                retry(batch, error: KafkaError(.leaderNotAvailable, topic: batch.key.topic, partition: batch.key.partition))
                continue
            }
            byLeader[leader, default: []].append(batch)
        }
        let (producerId, epoch) = state.withLockedValue { ($0.producerId, $0.producerEpoch) }
        for (leader, group) in byLeader {
            let connection: BrokerConnection
            do {
                connection = try await cluster.connection(to: leader)
            } catch {
                logger.debug("no connection to the leader", metadata: ["broker": "\(leader)", "error": "\(error)"])
                await cluster.invalidateMetadata()
                for batch in group { retry(batch, error: error) }
                continue
            }
            var rounds: [[RecordAccumulator.Batch]] = []
            var roundOf: [TopicPartition: Int] = [:]
            for batch in group {
                let round = roundOf[batch.key, default: 0]
                roundOf[batch.key] = round + 1
                if round == rounds.count { rounds.append([]) }
                rounds[round].append(batch)
            }
            for round in rounds {
                produce(round, on: connection, producerId: producerId, epoch: epoch, metadata: metadata)
            }
        }
    }

    /// Writes one Produce request for `batches` (one per partition) and handles its answer
    /// when it comes, on the connection's event loop.
    private func produce(
        _ batches: [RecordAccumulator.Batch], on connection: BrokerConnection, producerId: Int64, epoch: Int16,
        metadata: ClusterMetadata
    ) {
        var request = ProduceRequest()
        request.transactionalId = configuration.transactionalId
        request.acks = configuration.acks.rawValue
        request.timeoutMs = Int32(clamping: configuration.client.requestTimeoutMs)
        var built: [RecordAccumulator.Batch] = []
        var data: [String: ProduceRequest.TopicProduceData] = [:]
        for var batch in batches {
            if configuration.idempotence {
                batch.builder.producerId = producerId
                batch.builder.producerEpoch = epoch
                batch.builder.isTransactional = configuration.transactionalId != nil
            }
            let records: ByteBuffer
            do {
                records = try batch.builder.build()
            } catch {
                finish(batch, with: .failure(error))
                continue
            }
            built.append(batch)
            metrics.batchBytes.record(batch.bytes)
            var partition = ProduceRequest.PartitionProduceData()
            partition.index = batch.key.partition
            partition.records = records
            data[batch.key.topic, default: Self.topicData(batch.key.topic, metadata: metadata)].partitionData.append(partition)
        }
        request.topicData = Array(data.values)
        guard !built.isEmpty else { return }
        let sent = built
        let leader = connection.nodeId
        metrics.requests.increment()
        if configuration.acks == .none {
            do {
                try connection.writeWithoutResponse(request).whenComplete { result in
                    switch result {
                    case .success: for batch in sent { self.finish(batch, with: .success((-1, -1))) }
                    case .failure(let error): self.failed(sent, leader: leader, error: error)
                    }
                }
            } catch {
                failed(built, leader: leader, error: error)
            }
            return
        }
        let pending: PendingResponse<ProduceResponse>
        let started = ContinuousClock.now
        do {
            pending = try connection.write(request)
        } catch {
            failed(built, leader: leader, error: error)
            return
        }
        pending.whenComplete { result in
            self.metrics.requestLatency.record(since: started)
            switch result {
            case .success(let response):
                self.handle(response, for: sent, leader: leader, metadata: metadata)
            case .failure(let error):
                self.failed(sent, leader: leader, error: error)
            }
        }
    }

    private static func topicData(_ topic: String, metadata: ClusterMetadata) -> ProduceRequest.TopicProduceData {
        var data = ProduceRequest.TopicProduceData()
        data.name = topic
        data.topicId = metadata.topics[topic]?.id ?? .zero
        return data
    }

    /// A request failed as a whole (the connection closed or timed out): its batches go again.
    private func failed(_ batches: [RecordAccumulator.Batch], leader: Int32, error: any Error) {
        logger.debug("produce request failed", metadata: ["broker": "\(leader)", "error": "\(error)"])
        Task { await cluster.invalidateMetadata() }
        for batch in batches { retry(batch, error: error) }
    }

    private func handle(
        _ response: ProduceResponse, for batches: [RecordAccumulator.Batch], leader: Int32, metadata: ClusterMetadata
    ) {
        var answers: [TopicPartition: ProduceResponse.PartitionProduceResponse] = [:]
        for topic in response.responses {
            let name = topic.name.isEmpty ? (metadata.topics.values.first { $0.id == topic.topicId }?.name ?? "") : topic.name
            for partition in topic.partitionResponses {
                answers[TopicPartition(name, partition.index)] = partition
            }
        }
        for batch in batches {
            guard let answer = answers[batch.key] else {
                retry(
                    batch,
                    error: SamsaClientError.malformedResponse(api: .produce, broker: "\(leader)", reason: "no answer for \(batch.key)"))
                continue
            }
            handle(answer, for: batch)
        }
    }

    private func handle(_ answer: ProduceResponse.PartitionProduceResponse, for batch: RecordAccumulator.Batch) {
        let code = ErrorCode(rawValue: answer.errorCode)
        switch code {
        case .noError:
            finish(batch, with: .success((answer.baseOffset, answer.logAppendTimeMs)))
        case .duplicateSequenceNumber:
            // Written by an earlier attempt whose answer was lost: delivered, offsets unknown.
            finish(batch, with: .success((-1, answer.logAppendTimeMs)))
        case .outOfOrderSequenceNumber where sequenceRefusalIsExpected(batch),
            .unknownProducerId where sequenceRefusalIsExpected(batch),
            .invalidProducerEpoch where sequenceRefusalIsExpected(batch):
            // An earlier batch of the partition failed, or this one's sequence was given up:
            // it goes again, in order, after them.
            retry(batch, error: KafkaError(code, message: answer.errorMessage, topic: batch.key.topic, partition: batch.key.partition))
        case .notLeaderOrFollower, .unknownTopicOrPartition, .fencedLeaderEpoch, .leaderNotAvailable, .notEnoughReplicas,
            .notEnoughReplicasAfterAppend, .requestTimedOut, .networkException, .kafkaStorageError:
            Task { await cluster.invalidateMetadata() }
            retry(batch, error: KafkaError(code, message: answer.errorMessage, topic: batch.key.topic, partition: batch.key.partition))
        default:
            let error = KafkaError(code, message: answer.errorMessage, topic: batch.key.topic, partition: batch.key.partition)
            if code.isRetriable {
                retry(batch, error: error)
            } else {
                // Refused and not written: the next batch takes this one's sequence.
                if configuration.idempotence {
                    state.withLockedValue { $0.accumulator.rollBackSequence(after: batch) }
                }
                if code == .unknownProducerId || code == .outOfOrderSequenceNumber || code == .invalidProducerEpoch {
                    // The broker lost track of this producer: start over with a new id.
                    state.withLockedValue { state in
                        state.producerId = -1
                        state.accumulator.resetSequences()
                    }
                }
                finish(batch, with: .failure(error))
            }
        }
    }

    private func sequenceRefusalIsExpected(_ batch: RecordAccumulator.Batch) -> Bool {
        state.withLockedValue { $0.accumulator.sequenceRefusalIsExpected(batch) }
    }

    func retry(_ batch: RecordAccumulator.Batch, error: any Error) {
        metrics.retries.increment()
        let backoff = configuration.client.backoffMs(attempt: batch.attempts, random: Double.random(in: 0...1))
        state.withLockedValue { $0.accumulator.retry(batch, at: .now + .milliseconds(backoff), error: "\(error)") }
        wake.fire()
    }

    /// Answers the records of a batch in flight: with offsets (base offset and log-append
    /// time) or an error.
    func finish(_ sent: RecordAccumulator.Batch, with result: Result<(Int64, Int64), any Error>) {
        let acknowledged = if case .success = result { true } else { false }
        guard
            let (batch, buffered) = state.withLockedValue({ state in
                state.accumulator.finish(sent, acknowledged: acknowledged).map { ($0, state.accumulator.bufferedBytes) }
            })
        else { return }
        metrics.bufferedBytes.record(buffered)
        let key = batch.key
        report(batch, result.map { $0.0 })
        switch result {
        case .success(let (baseOffset, appendTime)):
            metrics.records.increment(by: batch.recordCount)
            metrics.bytes.increment(by: batch.bytes)
            for pending in batch.completions {
                let metadata = RecordMetadata(
                    topic: key.topic, partition: key.partition, offset: baseOffset < 0 ? -1 : baseOffset + Int64(pending.index),
                    timestamp: appendTime >= 0 ? appendTime : pending.timestamp)
                Self.complete(pending.completion, with: .success(metadata))
            }
        case .failure(let error):
            metrics.errors.increment(by: batch.recordCount)
            if configuration.transactionalId != nil {
                state.withLockedValue { state in
                    if state.transactionError == nil { state.transactionError = error }
                }
            }
            Self.complete(batch.completions, with: .failure(error))
        }
        afterCompletion()
        wake.fire()
    }

    /// Reports a finished batch in ``deliveryReports`` (with the setting on).
    func report(_ batch: RecordAccumulator.Batch, _ outcome: Result<Int64, any Error>) {
        guard configuration.deliveryReports else { return }
        var report = DeliveryReport(
            topic: batch.key.topic, partition: batch.key.partition, recordCount: batch.recordCount, baseOffset: -1, error: nil)
        switch outcome {
        case .success(let baseOffset): report.baseOffset = baseOffset
        case .failure(let error): report.error = error
        }
        deliveryReportContinuation.yield(report)
    }

    /// Wakes senders waiting for buffer space and flushes that are done.
    private func afterCompletion() {
        let (space, flushed) = state.withLockedValue { state in
            let space = state.spaceWaiters
            state.spaceWaiters = []
            var flushed: [CheckedContinuation<Void, Never>] = []
            if state.accumulator.unfinishedRecords == 0 {
                flushed = state.flushWaiters
                state.accumulator.flushing -= flushed.count
                state.flushWaiters = []
            }
            return (space, flushed)
        }
        for waiter in space { waiter.resume() }
        for waiter in flushed { waiter.resume() }
    }

    private static func complete(_ completions: [RecordAccumulator.PendingCompletion], with result: Result<RecordMetadata, any Error>) {
        for pending in completions { complete(pending.completion, with: result) }
    }

    private static func complete(_ completion: RecordAccumulator.Completion, with result: Result<RecordMetadata, any Error>) {
        switch completion {
        case .waiting(let continuation): continuation.resume(with: result)
        case .callback(let callback): callback(result)
        case .none: break
        }
    }

    // MARK: Producer id

    /// Asks for a producer id (idempotence), retrying with backoff until one comes or the producer closes.
    private func initProducerId() async {
        var attempt = 0
        while !state.withLockedValue({ $0.closed && $0.accumulator.unfinishedRecords == 0 }) {
            do {
                let connection = try await cluster.anyConnection()
                var request = InitProducerIdRequest()
                request.transactionalId = nil
                request.transactionTimeoutMs = configuration.transactionTimeoutMs
                let response = try await connection.send(request)
                let code = ErrorCode(rawValue: response.errorCode)
                guard code == .noError else { throw KafkaError(code) }
                state.withLockedValue { state in
                    state.producerId = response.producerId
                    state.producerEpoch = response.producerEpoch
                    state.accumulator.resetSequences()
                }
                return
            } catch {
                logger.debug("InitProducerId failed", metadata: ["error": "\(error)"])
                let backoff = configuration.client.backoffMs(attempt: attempt, random: Double.random(in: 0...1))
                attempt += 1
                try? await Task.sleep(for: .milliseconds(backoff))
            }
        }
    }

    /// The wall-clock time in ms since the epoch (record timestamps).
    static func nowMilliseconds() -> Int64 {
        var spec = timespec()
        clock_gettime(CLOCK_REALTIME, &spec)
        return Int64(spec.tv_sec) * 1000 + Int64(spec.tv_nsec) / 1_000_000
    }
}
