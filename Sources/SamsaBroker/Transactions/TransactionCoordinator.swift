import Logging
import NIOCore
import SamsaCoordination
import SamsaProtocol
import SamsaStorage

/// The broker's transaction coordinator: carries out what the ``TransactionCoordinatorState``
/// machine asks. Each state it hands over is appended to `__transaction_state` and durable
/// before anything follows (an answer, markers); markers go to the partitions through
/// ``TransactionMarkerWriter`` and are durable before the transaction completes; timeouts run
/// on the broker's clock. At start the topic is replayed and transactions a crash left between
/// prepare and complete get their markers.
///
/// EndTxn is answered once the transaction is complete (markers written), so a producer can
/// begin the next transaction at once instead of retrying on CONCURRENT_TRANSACTIONS.
package actor TransactionCoordinator {
    let core: BrokerCore
    let configuration: TransactionCoordinatorConfiguration
    /// Where transactional offsets wait for their transaction to end.
    let groups: GroupCoordinator
    private(set) var machine: TransactionCoordinatorState
    private let writer: InternalTopicWriter
    private var writerTask: Task<Void, Never>?
    private var timer = DeadlineTimer()
    private var isShutDown = false
    private var logger: Logger { core.logger }

    /// Creates the coordinator, replaying `__transaction_state` if it exists. Blocks on disk.
    package static func load(
        core: BrokerCore, configuration: TransactionCoordinatorConfiguration, groups: GroupCoordinator
    ) throws -> TransactionCoordinator {
        var machine = TransactionCoordinatorState(settings: configuration.settings)
        if let topic = core.topics.image.topic(named: TransactionStateTopic.name) {
            machine.restore(try TransactionStateTopic.load(logs: core.logs, partitionCount: topic.partitionCount))
        }
        return TransactionCoordinator(core: core, configuration: configuration, groups: groups, machine: machine)
    }

    private init(
        core: BrokerCore, configuration: TransactionCoordinatorConfiguration, groups: GroupCoordinator,
        machine: TransactionCoordinatorState
    ) {
        self.core = core
        self.configuration = configuration
        self.groups = groups
        self.machine = machine
        let writer = InternalTopicWriter(blocking: core.blocking)
        self.writer = writer
        writerTask = Task { await writer.run() }
    }

    /// Completes the transactions a crash left between prepare and complete, and arms the timer.
    package func start() async {
        for action in machine.pendingCompletions {
            _ = await carryOut([action])
        }
        scheduleTimer()
    }

    /// Stops the timer and waits for queued writes.
    package func shutdown() async {
        guard !isShutDown else { return }
        isShutDown = true
        timer.cancel()
        writer.finish()
        await writerTask?.value
    }

    private var now: Int64 { core.clock.nowMilliseconds() }

    // MARK: Requests

    /// InitProducerId with a transactional id.
    package func initProducerId(
        transactionalId: String, transactionTimeoutMs: Int32, expected: TransactionCoordinatorState.ProducerIdAndEpoch?
    ) async -> (errorCode: ErrorCode, ids: TransactionCoordinatorState.ProducerIdAndEpoch?) {
        guard await ensureStateTopic() else { return (.coordinatorNotAvailable, nil) }
        let core = self.core
        // The machine asks for a new id synchronously; one is reserved first (an unused one is
        // simply never handed out, as ids are never reused anyway).
        let candidate: Int64
        do {
            candidate = try await core.blocking.run { try core.producerIds.nextProducerId() }
        } catch {
            logger.error("could not allocate a producer id: \(error)")
            return (.coordinatorNotAvailable, nil)
        }
        let (result, actions) = machine.initProducerId(
            transactionalId: transactionalId, transactionTimeoutMs: transactionTimeoutMs, expected: expected, now: now,
            allocateProducerId: { candidate })
        let stored = await carryOut(actions)
        scheduleTimer()
        switch result {
        case .success(let ids): return stored ? (.noError, ids) : (.coordinatorNotAvailable, nil)
        case .failure(let error): return (error.errorCode, nil)
        }
    }

    /// AddPartitionsToTxn (and AddOffsetsToTxn with the group's offsets partition).
    package func addPartitions(
        transactionalId: String, producerId: Int64, producerEpoch: Int16, partitions: [TransactionPartition]
    ) async -> ErrorCode {
        let (result, actions) = machine.addPartitions(
            transactionalId: transactionalId, producerId: producerId, producerEpoch: producerEpoch, partitions: partitions, now: now)
        if case .failure(let error) = result { return error.errorCode }
        let stored = await carryOut(actions)
        scheduleTimer()
        return stored ? .noError : .coordinatorNotAvailable
    }

    /// Whether a transactional produce to `partition` belongs to the producer's ongoing transaction.
    package func verify(
        _ partition: TransactionPartition, transactionalId: String, producerId: Int64, producerEpoch: Int16
    ) -> ErrorCode {
        switch machine.isInTransaction(partition, transactionalId: transactionalId, producerId: producerId, producerEpoch: producerEpoch) {
        case .success(true): .noError
        case .success(false): .invalidTxnState
        case .failure(let error): error == .producerFenced ? .invalidProducerEpoch : error.errorCode
        }
    }

    /// EndTxn: answered once the markers are written and the transaction is complete. With
    /// `bumpsEpoch` (EndTxn v5, transactions V2) the answer carries the producer id and epoch
    /// for the next transaction.
    package func endTransaction(
        transactionalId: String, producerId: Int64, producerEpoch: Int16, commit: Bool, bumpsEpoch: Bool = false
    ) async -> (errorCode: ErrorCode, next: TransactionCoordinatorState.ProducerIdAndEpoch?) {
        // A new producer id is needed only when this ending exhausts the epochs; it is
        // reserved before the machine runs, as the machine asks for it synchronously.
        var candidate: Int64 = -1
        if bumpsEpoch, let epoch = machine.transactions[transactionalId]?.producerEpoch, epoch >= Int16.max - 1 {
            let core = self.core
            guard let reserved = try? await core.blocking.run({ try core.producerIds.nextProducerId() }) else {
                return (.coordinatorNotAvailable, nil)
            }
            candidate = reserved
        }
        let (result, actions) = machine.endTransaction(
            transactionalId: transactionalId, producerId: producerId, producerEpoch: producerEpoch, commit: commit,
            bumpsEpoch: bumpsEpoch, now: now, allocateProducerId: { candidate })
        let next: TransactionCoordinatorState.ProducerIdAndEpoch
        switch result {
        case .failure(let error): return (error.errorCode, nil)
        case .success(let ids): next = ids
        }
        let done = await carryOut(actions)
        scheduleTimer()
        return done ? (.noError, next) : (.coordinatorNotAvailable, nil)
    }

    /// ListTransactions: the ids in one of `states`, of one of `producerIds` (all when empty),
    /// running for at least `minimumDurationMs` (all when nil).
    package func list(states: Set<TransactionState>, producerIds: Set<Int64>, minimumDurationMs: Int64?) -> [TransactionMetadata] {
        machine.list(states: states, producerIds: producerIds, minimumDurationMs: minimumDurationMs, now: now)
    }

    /// The state of one transactional id (DescribeTransactions).
    package func describe(_ transactionalId: String) -> TransactionMetadata? {
        machine.transactions[transactionalId]
    }

    // MARK: Carrying out actions

    /// Does the actions in order; false when a write failed (the rest is not done).
    private func carryOut(_ actions: [TransactionAction]) async -> Bool {
        for action in actions {
            switch action {
            case .persist(let metadata) where metadata.state == .completeCommit || metadata.state == .completeAbort:
                // Not waited for: the markers are durable, and a crash that loses this record
                // leaves PrepareCommit or PrepareAbort, whose markers the next start writes again
                // (a second marker is harmless). Any later record of the id is appended after
                // it, so the fsync that makes that one durable covers this one too.
                submit(metadata.transactionalId, metadata) { _ in }
            case .persist(let metadata):
                guard await store(metadata.transactionalId, metadata) else { return false }
            case .remove(let transactionalId):
                guard await store(transactionalId, nil) else { return false }
            case .writeMarkers(let transactionalId, let producerId, let epoch, let commit, let partitions):
                let writer = TransactionMarkerWriter(core: core)
                let targets = partitions.map { TopicPartition(topic: $0.topic, partition: $0.partition) }
                let failed = await writer.writeMarkers(producerId: producerId, producerEpoch: epoch, commit: commit, partitions: targets)
                // A partition deleted meanwhile takes no marker (as in Kafka); a failed log is retried at the next start.
                guard !failed.values.contains(.kafkaStorageError) else { return false }
                // Offsets sent with the transaction become visible (or are dropped) with it.
                await groups.endTransaction(producerId: producerId, commit: commit)
                guard await carryOut(machine.markersWritten(transactionalId: transactionalId, now: now)) else { return false }
            }
        }
        return true
    }

    private func store(_ transactionalId: String, _ metadata: TransactionMetadata?) async -> Bool {
        await withCheckedContinuation { continuation in
            submit(transactionalId, metadata) { continuation.resume(returning: $0) }
        }
    }

    /// Queues the record of `transactionalId` for `__transaction_state`; `done` gets whether it
    /// became durable.
    private func submit(_ transactionalId: String, _ metadata: TransactionMetadata?, done: @escaping @Sendable (Bool) -> Void) {
        let count = core.topics.image.topic(named: TransactionStateTopic.name)?.partitionCount ?? 0
        let partition = TransactionStateTopic.partition(for: transactionalId, partitionCount: count)
        guard count > 0, let log = core.logs.log(for: TopicPartition(topic: TransactionStateTopic.name, partition: partition)) else {
            return done(false)
        }
        let batch: ByteBuffer
        do {
            batch = try TransactionStateTopic.batch(transactionalId: transactionalId, metadata, timestamp: now)
        } catch {
            return done(false)
        }
        let logger = self.logger
        writer.submit(batch, to: log) { result in
            if case .failure(let error) = result {
                logger.error("could not write \(TransactionStateTopic.name): \(error)")
            }
            done((try? result.get()) != nil)
        }
    }

    /// Creates `__transaction_state` if it does not exist yet; false if that failed.
    private func ensureStateTopic() async -> Bool {
        if core.topics.image.topic(named: TransactionStateTopic.name) != nil { return true }
        let core = self.core
        let configuration = self.configuration
        _ = try? await core.blocking.run {
            try core.createTopic(
                name: TransactionStateTopic.name, partitionCount: configuration.stateTopicPartitionCount,
                configs: TransactionStateTopic.configs(configuration))
        }
        return core.topics.image.topic(named: TransactionStateTopic.name) != nil
    }

    // MARK: Timers

    private func scheduleTimer() {
        guard !isShutDown, let next = machine.nextDeadline else { return }
        timer.arm(at: next, clock: core.clock) { [weak self] in await self?.timerFired() }
    }

    private func timerFired() async {
        timer.fired()
        await runTimers()
    }

    /// Aborts transactions past their timeout and forgets idle ids, due now.
    package func runTimers() async {
        guard !isShutDown else { return }
        _ = await carryOut(machine.expire(now: now))
        scheduleTimer()
    }
}
