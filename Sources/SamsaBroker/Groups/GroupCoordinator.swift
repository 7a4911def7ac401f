import Logging
import NIOCore
import SamsaBinary
import SamsaCoordination
import SamsaProtocol
import SamsaStorage

/// The broker's group coordinator: owns every consumer group of this broker (it coordinates
/// them all, being the only node): classic groups and KIP-848 consumer groups
/// (``ConsumerGroup``, see `GroupCoordinator+Consumer.swift`); carries out what the ``ClassicGroup`` state machines ask
/// (answer a waiting JoinGroup or SyncGroup, persist the group), drives their timeouts, and
/// keeps committed offsets.
///
/// Offsets and group metadata live in `__consumer_offsets` (see ``OffsetsTopic``): created on
/// first use, replayed at start (``load(core:configuration:)``), written through one
/// ``InternalTopicWriter`` so the log's order is the order of the changes made here. A commit
/// is answered once its record is durable; a SyncGroup once the leader's assignment is.
///
/// Timeouts: after every event the actor sleeps (a `Task`) until the earliest deadline of any
/// group, or the next offset-retention check, and then calls ``runTimers()``. Both the time
/// and the sleeping come from the broker's injected ``BrokerClock``.
package actor GroupCoordinator {
    struct MemberKey: Hashable {
        let group: String
        let member: String
    }

    /// A committed offset with the `__consumer_offsets` offset of its record, so that commits
    /// whose writes complete out of order still leave the latest one in memory.
    typealias StoredOffset = OffsetsTopic.StoredOffset

    let core: BrokerCore
    let configuration: GroupCoordinatorConfiguration
    var logger: Logger { core.logger }
    var groups: [String: ClassicGroup] = [:]
    /// KIP-848 consumer groups; a group id is in at most one of `groups` and this.
    var consumerGroups: [String: ConsumerGroup] = [:]
    var offsets: [String: [TopicPartition: StoredOffset]] = [:]
    private var joinWaiters: [MemberKey: CheckedContinuation<ClassicJoinResult, Never>] = [:]
    private var syncWaiters: [MemberKey: CheckedContinuation<ClassicSyncResult, Never>] = [:]
    /// Answers produced before their request started waiting (it waits right after).
    private var undeliveredJoins: [MemberKey: ClassicJoinResult] = [:]
    private var undeliveredSyncs: [MemberKey: ClassicSyncResult] = [:]
    let writer: InternalTopicWriter
    private var writerTask: Task<Void, Never>?
    private var timer = DeadlineTimer()
    var nextRetentionCheck: Int64
    /// Offset commits being written, by group: such a group is not removed as empty.
    var commitsInFlight: [String: Int] = [:]
    /// Offsets of transactions still running (TxnOffsetCommit), by producer id and group.
    var pendingTransactionalOffsets: [Int64: OffsetsTopic.PendingOffsets] = [:]
    var isShutDown = false

    /// Creates the coordinator, replaying `__consumer_offsets` if it exists. Blocks on disk:
    /// call it where the broker opens its logs.
    package static func load(core: BrokerCore, configuration: GroupCoordinatorConfiguration) throws -> GroupCoordinator {
        var loaded = OffsetsTopic.LoadedState()
        if let topic = core.topics.image.topic(named: OffsetsTopic.name) {
            loaded = try OffsetsTopic.load(logs: core.logs, partitionCount: topic.partitionCount, logger: core.logger)
        }
        let coordinator = GroupCoordinator(core: core, configuration: configuration, loaded: loaded)
        if loaded.recordCount > 0 {
            core.logger.info(
                "loaded consumer groups",
                metadata: [
                    "groups": "\(loaded.groups.count)", "records": "\(loaded.recordCount)",
                    "offsets": "\(loaded.offsets.values.reduce(0) { $0 + $1.count })",
                ])
        }
        return coordinator
    }

    init(core: BrokerCore, configuration: GroupCoordinatorConfiguration, loaded: OffsetsTopic.LoadedState) {
        self.core = core
        self.configuration = configuration
        let now = core.clock.nowMilliseconds()
        nextRetentionCheck = now + configuration.offsetsRetentionCheckIntervalMs
        for (id, snapshot) in loaded.groups {
            groups[id] = ClassicGroup(groupId: id, restoring: snapshot, settings: configuration.classic, now: now)
        }
        pendingTransactionalOffsets = loaded.pendingTransactionalOffsets
        for (id, partitions) in loaded.offsets where !partitions.isEmpty {
            offsets[id] = partitions
        }
        // A group that only holds offsets (or offsets of an open transaction) is an empty group.
        let offsetHolders = Set(loaded.offsets.filter { !$0.value.isEmpty }.keys).union(
            loaded.pendingTransactionalOffsets.values.flatMap(\.keys))
        for id in offsetHolders where groups[id] == nil {
            groups[id] = ClassicGroup(groupId: id, settings: configuration.classic, now: now)
        }
        let writer = InternalTopicWriter(blocking: core.blocking)
        self.writer = writer
        writerTask = Task { await writer.run() }
    }

    /// Stops the timers, answers every waiting request with NOT_COORDINATOR (clients look the
    /// coordinator up again) and waits for queued writes to finish.
    package func shutdown() async {
        guard !isShutDown else { return }
        isShutDown = true
        timer.cancel()
        for (_, waiter) in joinWaiters {
            waiter.resume(returning: ClassicJoinResult(errorCode: .notCoordinator, memberId: ""))
        }
        for (_, waiter) in syncWaiters {
            waiter.resume(returning: ClassicSyncResult(errorCode: .notCoordinator))
        }
        joinWaiters.removeAll()
        syncWaiters.removeAll()
        writer.finish()
        await writerTask?.value
    }

    var now: Int64 { core.clock.nowMilliseconds() }

    // MARK: Carrying out actions

    /// Does what a group's state machine asked, then re-arms the timer.
    func perform(_ actions: [ClassicGroupAction], groupId: String) {
        for action in actions {
            switch action {
            case .completeJoin(let memberId, let result):
                let key = MemberKey(group: groupId, member: memberId)
                if let waiter = joinWaiters.removeValue(forKey: key) {
                    waiter.resume(returning: result)
                } else {
                    undeliveredJoins[key] = result
                }
            case .completeSync(let memberId, let result):
                let key = MemberKey(group: groupId, member: memberId)
                if let waiter = syncWaiters.removeValue(forKey: key) {
                    waiter.resume(returning: result)
                } else {
                    undeliveredSyncs[key] = result
                }
            case .storeGroup(let snapshot, let pendingAssignment):
                storeGroup(snapshot, groupId: groupId, pendingAssignment: pendingAssignment)
            }
        }
        scheduleTimer()
    }

    private func storeGroup(_ snapshot: ClassicGroupSnapshot, groupId: String, pendingAssignment: [String: ByteBuffer]?) {
        let generation = snapshot.generationId
        let logger = self.logger
        submit([.group(group: groupId, snapshot)], groupId: groupId) { [weak self] result in
            if case .failure(let error) = result {
                logger.error("could not store group metadata", metadata: ["group": "\(groupId)", "error": "\(error)"])
            }
            guard let pendingAssignment else { return }
            let errorCode: ErrorCode = (try? result.get()) == nil ? .coordinatorNotAvailable : .noError
            Task {
                await self?.assignmentStored(groupId: groupId, generation: generation, assignments: pendingAssignment, errorCode: errorCode)
            }
        }
    }

    private func assignmentStored(groupId: String, generation: Int32, assignments: [String: ByteBuffer], errorCode: ErrorCode) {
        guard var group = groups[groupId] else { return }
        let actions = group.assignmentStored(generationId: generation, assignments: assignments, errorCode: errorCode, now: now)
        groups[groupId] = group
        perform(actions, groupId: groupId)
    }

    /// Waits for the JoinGroup answer of `memberId` (from a later ``perform(_:groupId:)``).
    func waitForJoin(groupId: String, memberId: String) async -> ClassicJoinResult {
        let key = MemberKey(group: groupId, member: memberId)
        if let result = undeliveredJoins.removeValue(forKey: key) { return result }
        if isShutDown { return ClassicJoinResult(errorCode: .notCoordinator, memberId: memberId) }
        return await withCheckedContinuation { continuation in
            if let previous = joinWaiters.updateValue(continuation, forKey: key) {
                previous.resume(returning: ClassicJoinResult(errorCode: .rebalanceInProgress, memberId: memberId))
            }
        }
    }

    /// Waits for the SyncGroup answer of `memberId`.
    func waitForSync(groupId: String, memberId: String) async -> ClassicSyncResult {
        let key = MemberKey(group: groupId, member: memberId)
        if let result = undeliveredSyncs.removeValue(forKey: key) { return result }
        if isShutDown { return ClassicSyncResult(errorCode: .notCoordinator) }
        return await withCheckedContinuation { continuation in
            if let previous = syncWaiters.updateValue(continuation, forKey: key) {
                previous.resume(returning: ClassicSyncResult(errorCode: .rebalanceInProgress))
            }
        }
    }

    // MARK: Writing to __consumer_offsets

    /// Queues `records` (all of one group) for the group's partition; `done` gets the offset of
    /// the first record once durable. Enqueues synchronously, keeping this actor's order.
    func submit(
        _ records: [OffsetsTopicRecord], groupId: String, producer: OffsetsTopic.TransactionalProducer? = nil,
        done: @escaping @Sendable (Result<Int64, any Error>) -> Void
    ) {
        let partitionCount = core.topics.image.topic(named: OffsetsTopic.name)?.partitionCount ?? 0
        let partition = OffsetsTopic.partition(for: groupId, partitionCount: partitionCount)
        guard partitionCount > 0, let log = core.logs.log(for: TopicPartition(topic: OffsetsTopic.name, partition: partition)) else {
            done(.failure(StorageError.notFound(path: "\(OffsetsTopic.name)-\(partition)")))
            return
        }
        let batch: ByteBuffer
        do {
            batch = try OffsetsTopic.batch(records, timestamp: now, producer: producer)
        } catch {
            done(.failure(error))
            return
        }
        writer.submit(batch, to: log, done: done)
    }

    /// ``submit(_:groupId:done:)``, waiting for the write.
    func store(_ records: [OffsetsTopicRecord], groupId: String, producer: OffsetsTopic.TransactionalProducer? = nil) async throws -> Int64
    {
        try await withCheckedThrowingContinuation { continuation in
            submit(records, groupId: groupId, producer: producer) { continuation.resume(with: $0) }
        }
    }

    /// Creates `__consumer_offsets` if it does not exist yet; false if that failed.
    func ensureOffsetsTopic() async -> Bool {
        if core.topics.image.topic(named: OffsetsTopic.name) != nil { return true }
        let core = self.core
        let configuration = self.configuration
        do {
            _ = try await core.blocking.run {
                try core.createTopic(
                    name: OffsetsTopic.name, partitionCount: configuration.offsetsTopicPartitionCount,
                    configs: OffsetsTopic.configs(configuration)
                )
            }
        } catch {
            logger.error("could not create \(OffsetsTopic.name): \(error)")
        }
        return core.topics.image.topic(named: OffsetsTopic.name) != nil
    }

    // MARK: Timers

    /// Sleeps until the earliest deadline of any group (or the next retention check).
    func scheduleTimer() {
        guard !isShutDown else { return }
        var next = nextRetentionCheck
        for group in groups.values {
            if let deadline = group.nextDeadline, deadline < next { next = deadline }
        }
        for group in consumerGroups.values {
            if let deadline = group.nextDeadline, deadline < next { next = deadline }
        }
        timer.arm(at: next, clock: core.clock) { [weak self] in await self?.timerFired() }
    }

    private func timerFired() {
        timer.fired()
        runTimers()
    }

    /// Applies every timeout due now (sessions, rebalances, syncs, offset retention).
    package func runTimers() {
        guard !isShutDown else { return }
        let now = self.now
        for id in groups.keys.sorted() {
            guard var group = groups[id], let deadline = group.nextDeadline, deadline <= now else { continue }
            let actions = group.expire(now: now)
            groups[id] = group
            perform(actions, groupId: id)
        }
        expireConsumerGroups(now: now)
        if now >= nextRetentionCheck {
            nextRetentionCheck = now + configuration.offsetsRetentionCheckIntervalMs
            expireOffsets(now: now)
        }
        scheduleTimer()
    }

    /// A member id as Kafka makes them: the client id, a dash and a random UUID.
    func makeMemberId(clientId: String) -> String {
        let hex = core.random.uuid().bytes.map { byte in
            let digits = Array("0123456789abcdef")
            return String([digits[Int(byte >> 4)], digits[Int(byte & 0x0F)]])
        }.joined()
        let parts = [
            hex.prefix(8), hex.dropFirst(8).prefix(4), hex.dropFirst(12).prefix(4), hex.dropFirst(16).prefix(4), hex.dropFirst(20),
        ]
        return "\(clientId)-\(parts.joined(separator: "-"))"
    }
}
