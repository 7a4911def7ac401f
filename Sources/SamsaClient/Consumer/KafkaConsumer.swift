import Logging
import NIOConcurrencyHelpers
import NIOCore
import SamsaBinary
import SamsaProtocol
import SamsaRecords
import ServiceLifecycle

/// Reads records from partitions assigned to it, in order per partition.
///
/// ```swift
/// let consumer = try KafkaConsumer(configuration: ConsumerConfiguration(client: .init(bootstrapServers: "localhost:9092"), groupId: "billing"))
/// try await consumer.assign([TopicPartition("payments", 0): .earliest])
/// for try await record in consumer.records {
///     print(record.offset, record.valueString ?? "")
/// }
/// ```
///
/// A background task fetches from each partition's leader (one request per broker, long
/// polling) into a buffer bounded by `maxBufferedBytes`; `records` hands the records out.
/// The position of a partition moves past each record handed out, and ``commit()`` commits
/// those positions to the group (`group.id`), as does auto-commit every
/// `auto.commit.interval.ms`.
public final class KafkaConsumer: Sendable, Service {
    public let configuration: ConsumerConfiguration
    let cluster: ClusterClient
    private let logger: Logger
    private let state: NIOLockedValueBox<State>
    private let fetchWake = WakeSignal()
    private let recordsWake = WakeSignal()
    private let fetcher: NIOLockedValueBox<Task<Void, Never>?> = NIOLockedValueBox(nil)
    private let groupTask: NIOLockedValueBox<Task<Void, Never>?> = NIOLockedValueBox(nil)
    private let heartbeatWake = WakeSignal()
    private let rebalanceContinuation: AsyncStream<RebalanceEvent>.Continuation

    /// The partitions this consumer gains and gives up as its group rebalances (after
    /// ``subscribe(_:)``), in order. Ends when the consumer closes.
    public let rebalanceEvents: AsyncStream<RebalanceEvent>

    struct PartitionState {
        /// Where the next fetch starts; nil until `pending` is resolved.
        var fetchPosition: Int64?
        /// A start not yet turned into an offset (ListOffsets).
        var pending: OffsetSpec?
        /// After the last record handed out (what a commit stores).
        var consumed: Int64?
        var paused = false
        /// Bumped by every seek, so records fetched before it are dropped.
        var epoch = 0
        var leaderEpoch: Int32 = -1
    }

    struct Chunk {
        var partition: TopicPartition
        var epoch: Int
        var records: [ConsumerRecord]
        var bytes: Int
        /// The fetch position after this chunk: past its last record, and past control or
        /// aborted batches that followed it.
        var next: Int64
    }

    struct State {
        var partitions: [TopicPartition: PartitionState] = [:]
        var chunks: [Chunk] = []
        var bufferedBytes = 0
        var closed = false
        var failure: (any Error)?
        var committed: [TopicPartition: Int64] = [:]
        /// Set while subscribed to topics in a classic group.
        var membership: ClassicGroupMembership?
        /// Set while subscribed to topics in a KIP-848 group.
        var consumerMembership: ConsumerProtocolMembership?
        /// True while the group task waits in JoinGroup/SyncGroup.
        var joining = false
    }

    public init(configuration: ConsumerConfiguration, logger: Logger = Logger(label: "samsa.consumer")) throws {
        self.configuration = configuration
        self.logger = logger
        self.cluster = ClusterClient(configuration: configuration.client, logger: logger)
        self.state = NIOLockedValueBox(State())
        (rebalanceEvents, rebalanceContinuation) = AsyncStream.makeStream(of: RebalanceEvent.self)
        let task = Task { [self] in await self.runFetcher() }
        fetcher.withLockedValue { $0 = task }
    }

    // MARK: Group subscription

    /// Joins the group (`group.id`) and consumes the partitions of `topics` it assigns to this
    /// member, from the group's committed offsets (or `auto.offset.reset`). The group shares
    /// the partitions among its members with the first assignor of
    /// `partition.assignment.strategy` that every member offers; the changes arrive on
    /// ``rebalanceEvents``. Members of other clients (Java, librdkafka, ...) can be in the same
    /// group.
    public func subscribe(_ topics: [String]) throws {
        guard let groupId = configuration.groupId else { throw SamsaClientError.invalidConfiguration("subscribe needs group.id") }
        guard !topics.isEmpty else { throw SamsaClientError.invalidConfiguration("subscribe needs at least one topic") }
        let alreadySubscribed = state.withLockedValue { $0.membership != nil || $0.consumerMembership != nil }
        guard !alreadySubscribed else { throw SamsaClientError.invalidConfiguration("already subscribed; close and create a new consumer") }
        let task: Task<Void, Never>
        switch configuration.groupProtocol {
        case .classic:
            let membership = ClassicGroupMembership(
                groupId: groupId, topics: topics, configuration: configuration, cluster: cluster, logger: logger)
            state.withLockedValue { $0.membership = membership }
            task = Task { [self] in await self.runGroup(membership) }
        case .consumer:
            let membership = ConsumerProtocolMembership(
                groupId: groupId, topics: topics, configuration: configuration, cluster: cluster, logger: logger)
            state.withLockedValue { $0.consumerMembership = membership }
            task = Task { [self] in await self.runConsumerGroup(membership) }
        }
        groupTask.withLockedValue { $0 = task }
    }

    /// Joins, consumes the assignment while heartbeating, and on a rebalance gives the
    /// partitions back (committing their positions first with auto-commit) and joins again.
    private func runGroup(_ membership: ClassicGroupMembership) async {
        var owned: [TopicPartition] = []
        while !state.withLockedValue({ $0.closed }) {
            let assigned: [TopicPartition]
            let cooperative: Bool
            var revoked: [TopicPartition] = []
            do {
                state.withLockedValue { $0.joining = true }
                defer { state.withLockedValue { $0.joining = false } }
                assigned = try await membership.join(owned: owned)
                cooperative = await membership.isCooperative
                if cooperative {
                    // Incremental: give back only what moved away, take only what is new.
                    revoked = Set(owned).subtracting(assigned).sorted()
                    let added = Set(assigned).subtracting(owned)
                    if !revoked.isEmpty {
                        await giveBack(Set(revoked), commit: configuration.enableAutoCommit)
                        rebalanceContinuation.yield(.revoked(revoked))
                    }
                    if !added.isEmpty {
                        try await take(added)
                        rebalanceContinuation.yield(.assigned(added.sorted()))
                    }
                } else {
                    try await assign(assigned)
                    rebalanceContinuation.yield(.assigned(assigned))
                }
                owned = assigned
            } catch {
                if state.withLockedValue({ $0.closed }) { break }
                logger.error("could not join the group", metadata: ["group": "\(membership.groupId)", "error": "\(error)"])
                state.withLockedValue { $0.failure = error }
                recordsWake.fire()
                break
            }
            // Partitions given back can move to their new member only in another rebalance.
            if cooperative && !revoked.isEmpty { continue }
            var outcome = ClassicGroupMembership.HeartbeatOutcome.stable
            while outcome == .stable && !state.withLockedValue({ $0.closed }) {
                await heartbeatWake.wait(until: .now + .milliseconds(configuration.heartbeatIntervalMs))
                if state.withLockedValue({ $0.closed }) { break }
                do {
                    outcome = try await membership.heartbeat()
                } catch {
                    logger.error("heartbeat failed", metadata: ["group": "\(membership.groupId)", "error": "\(error)"])
                    outcome = .rejoin
                }
            }
            if outcome == .lost {
                // Someone else's already: nothing is committed for them.
                await giveBack(Set(owned), commit: false)
                rebalanceContinuation.yield(.lost(owned))
                owned = []
            } else if !cooperative || state.withLockedValue({ $0.closed }) {
                // Eager rebalancing (and closing): commit, then give everything back.
                await giveBack(Set(owned), commit: configuration.enableAutoCommit)
                rebalanceContinuation.yield(.revoked(owned))
                owned = []
            }
            // Cooperative: keep consuming while joining again with what is owned.
        }
        await membership.leave()
    }

    /// Heartbeats in a KIP-848 group and reconciles each new assignment: partitions no longer
    /// assigned are given back (their positions committed first with auto-commit), new ones are
    /// taken from the group's committed offsets, and the next heartbeat reports the change.
    private func runConsumerGroup(_ membership: ConsumerProtocolMembership) async {
        var owned = Set<TopicPartition>()
        while !state.withLockedValue({ $0.closed }) {
            let outcome: ConsumerProtocolMembership.Outcome
            do {
                outcome = try await membership.heartbeat()
            } catch {
                if state.withLockedValue({ $0.closed }) { break }
                logger.error("could not heartbeat in the group", metadata: ["group": "\(membership.groupId)", "error": "\(error)"])
                state.withLockedValue { $0.failure = error }
                recordsWake.fire()
                break
            }
            var changed = false
            switch outcome {
            case .unchanged:
                break
            case .assignment(let target):
                let revoked = owned.subtracting(target)
                let added = target.subtracting(owned)
                if !revoked.isEmpty {
                    await giveBack(revoked, commit: configuration.enableAutoCommit)
                    rebalanceContinuation.yield(.revoked(revoked.sorted()))
                }
                if !added.isEmpty {
                    do {
                        try await take(added)
                    } catch {
                        logger.warning("could not take new partitions", metadata: ["error": "\(error)"])
                        continue
                    }
                    rebalanceContinuation.yield(.assigned(added.sorted()))
                }
                owned = target
                await membership.owns(owned)
                changed = !revoked.isEmpty || !added.isEmpty
            case .lost:
                if !owned.isEmpty {
                    await giveBack(owned, commit: false)
                    rebalanceContinuation.yield(.lost(owned.sorted()))
                }
                owned = []
                changed = true
            }
            if changed { continue }
            let interval = await membership.heartbeatIntervalMs
            await heartbeatWake.wait(until: .now + .milliseconds(interval))
        }
        if !owned.isEmpty {
            await giveBack(owned, commit: configuration.enableAutoCommit)
            rebalanceContinuation.yield(.revoked(owned.sorted()))
        }
        await membership.leave()
    }

    /// Stops consuming `partitions`, committing their positions first when `commit`.
    private func giveBack(_ partitions: Set<TopicPartition>, commit: Bool) async {
        if commit {
            let positions = state.withLockedValue { state in
                state.partitions.filter { partitions.contains($0.key) }.compactMapValues { $0.consumed }
            }
            do {
                try await self.commit(positions)
            } catch {
                logger.warning("could not commit given-back partitions", metadata: ["error": "\(error)"])
            }
        }
        state.withLockedValue { state in
            for partition in partitions { state.partitions[partition] = nil }
            state.chunks.removeAll { partitions.contains($0.partition) }
            state.bufferedBytes = state.chunks.reduce(0) { $0 + $1.bytes }
        }
    }

    /// Starts consuming `partitions` (besides those already assigned) from the group's
    /// committed offsets, or `auto.offset.reset`.
    private func take(_ partitions: Set<TopicPartition>) async throws {
        let list = partitions.sorted()
        let committed = try await committed(list)
        let reset: OffsetSpec = configuration.autoOffsetReset == .earliest ? .earliest : .latest
        var starts: [TopicPartition: OffsetSpec] = [:]
        for partition in list { starts[partition] = committed[partition].map { .offset($0) } ?? reset }
        let offsets = try await resolve(starts)
        state.withLockedValue { state in
            for (partition, offset) in offsets {
                var entry = state.partitions[partition] ?? PartitionState()
                entry.epoch += 1
                entry.pending = nil
                entry.fetchPosition = offset
                entry.consumed = offset
                state.partitions[partition] = entry
            }
        }
        fetchWake.fire()
    }

    /// The consumer's identity in its group, for ``KafkaProducer/sendOffsetsToTransaction(_:groupMetadata:)``;
    /// nil without `group.id`.
    public func groupMetadata() async -> ConsumerGroupMetadata? {
        guard let groupId = configuration.groupId else { return nil }
        let identity: (generation: Int32, memberId: String, instanceId: String?)
        if let membership = state.withLockedValue({ $0.membership }) {
            identity = await membership.commitIdentity
        } else if let membership = state.withLockedValue({ $0.consumerMembership }) {
            identity = await membership.commitIdentity
        } else {
            return ConsumerGroupMetadata(groupId: groupId)
        }
        return ConsumerGroupMetadata(
            groupId: groupId, generationId: identity.generation, memberId: identity.memberId, groupInstanceId: identity.instanceId)
    }

    /// The positions of every assigned partition (after the last record handed out): the
    /// offsets to commit, or to send to a transaction.
    public var positions: [TopicPartition: Int64] {
        state.withLockedValue { state in state.partitions.compactMapValues { $0.consumed } }
    }

    // MARK: Assignment and positions

    /// Reads these partitions from now on, each from the given start (for `.committed`-like
    /// behaviour pass the group's committed offsets, see ``committed(_:)``). Replaces the
    /// previous assignment.
    public func assign(_ assignment: [TopicPartition: OffsetSpec]) async throws {
        _ = try await cluster.metadata(for: Array(Set(assignment.keys.map(\.topic))))
        // The starts become offsets now, so positions are known when this returns.
        let offsets = try await resolve(assignment)
        state.withLockedValue { state in
            var partitions: [TopicPartition: PartitionState] = [:]
            for (partition, offset) in offsets {
                var entry = state.partitions[partition] ?? PartitionState()
                entry.epoch += 1
                entry.pending = nil
                entry.fetchPosition = offset
                entry.consumed = offset
                partitions[partition] = entry
            }
            state.partitions = partitions
            state.chunks.removeAll { partitions[$0.partition] == nil }
            state.bufferedBytes = state.chunks.reduce(0) { $0 + $1.bytes }
        }
        fetchWake.fire()
    }

    /// Reads these partitions from the group's committed offsets, or `auto.offset.reset`
    /// where the group has none.
    public func assign(_ partitions: [TopicPartition]) async throws {
        let committed = configuration.groupId == nil ? [:] : try await committed(partitions)
        let reset: OffsetSpec = configuration.autoOffsetReset == .earliest ? .earliest : .latest
        var assignment: [TopicPartition: OffsetSpec] = [:]
        for partition in partitions {
            assignment[partition] = committed[partition].map { .offset($0) } ?? reset
        }
        try await assign(assignment)
    }

    /// The partitions assigned.
    public var assignment: Set<TopicPartition> { state.withLockedValue { Set($0.partitions.keys) } }

    /// Moves a partition's position: the next record handed out for it is at `start` (looked
    /// up now for earliest, latest and timestamps).
    public func seek(_ partition: TopicPartition, to start: OffsetSpec) async throws {
        guard let offset = try await resolve([partition: start])[partition] else { return }
        state.withLockedValue { state in
            guard var entry = state.partitions[partition] else { return }
            entry.epoch += 1
            entry.pending = nil
            entry.fetchPosition = offset
            entry.consumed = offset
            state.partitions[partition] = entry
            state.chunks.removeAll { $0.partition == partition }
            state.bufferedBytes = state.chunks.reduce(0) { $0 + $1.bytes }
        }
        fetchWake.fire()
    }

    /// The offset each start stands for (ListOffsets for earliest, latest and timestamps).
    private func resolve(_ starts: [TopicPartition: OffsetSpec]) async throws -> [TopicPartition: Int64] {
        var resolved: [TopicPartition: Int64] = [:]
        var toList: [TopicPartition: Int64] = [:]
        for (partition, spec) in starts {
            switch spec {
            case .offset(let offset): resolved[partition] = offset
            case .earliest: toList[partition] = -2
            case .latest: toList[partition] = -1
            case .timestamp(let timestamp): toList[partition] = timestamp
            }
        }
        if !toList.isEmpty {
            for (partition, offset) in try await listOffsets(toList) { resolved[partition] = offset }
        }
        return resolved
    }

    /// The offset after the last record handed out for `partition`, if any was.
    public func position(_ partition: TopicPartition) -> Int64? {
        state.withLockedValue { state in
            guard let entry = state.partitions[partition] else { return nil }
            return entry.consumed ?? entry.fetchPosition
        }
    }

    /// Stops fetching these partitions until ``resume(_:)``; records already fetched for them
    /// are still handed out.
    public func pause(_ partitions: [TopicPartition]) {
        state.withLockedValue { state in
            for partition in partitions { state.partitions[partition]?.paused = true }
        }
    }

    /// Fetches these partitions again.
    public func resume(_ partitions: [TopicPartition]) {
        state.withLockedValue { state in
            for partition in partitions { state.partitions[partition]?.paused = false }
        }
        fetchWake.fire()
    }

    /// The number of partitions of `topic`; UNKNOWN_TOPIC_OR_PARTITION when it does not exist.
    public func partitionCount(of topic: String) async throws -> Int {
        let metadata = try await cluster.refreshMetadata(topics: [topic])
        guard let count = metadata.partitionCount(of: topic) else {
            throw KafkaError(metadata.topics[topic]?.error ?? .unknownTopicOrPartition, topic: topic)
        }
        return count
    }

    /// The end offset of each partition: the high watermark, or the last stable offset with read_committed.
    public func endOffsets(_ partitions: [TopicPartition]) async throws -> [TopicPartition: Int64] {
        try await listOffsets(Dictionary(uniqueKeysWithValues: partitions.map { ($0, Int64(-1)) }))
    }

    /// The first offset still kept of each partition.
    public func beginningOffsets(_ partitions: [TopicPartition]) async throws -> [TopicPartition: Int64] {
        try await listOffsets(Dictionary(uniqueKeysWithValues: partitions.map { ($0, Int64(-2)) }))
    }

    // MARK: Records

    /// The records of the assigned partitions, in order per partition. Ends when the consumer
    /// closes; throws when fetching failed for good.
    public var records: ConsumerRecords { ConsumerRecords(consumer: self) }

    /// The records as an `AsyncSequence`.
    public struct ConsumerRecords: AsyncSequence, Sendable {
        public typealias Element = ConsumerRecord
        let consumer: KafkaConsumer

        public func makeAsyncIterator() -> Iterator { Iterator(consumer: consumer) }

        public struct Iterator: AsyncIteratorProtocol {
            let consumer: KafkaConsumer
            var chunk: Chunk?
            var index = 0

            public mutating func next() async throws -> ConsumerRecord? {
                while true {
                    if let current = chunk, index < current.records.count {
                        let record = current.records[index]
                        index += 1
                        // After the chunk's last record the position moves to the chunk's end, past
                        // markers, as Kafka's consumer positions do.
                        let position = index == current.records.count ? current.next : record.offset + 1
                        if consumer.handOut(record, epoch: current.epoch, position: position) { return record }
                        continue
                    }
                    chunk = nil
                    index = 0
                    guard let next = try await consumer.nextChunk() else { return nil }
                    chunk = next
                }
            }
        }
    }

    /// The records in batches, as they were fetched: each batch holds records of one partition,
    /// in order. Handing out a batch moves the partition's position past all of it, so a
    /// commit after processing the batch covers every record in it (KafkaJS's `eachBatch`).
    public var batches: ConsumerBatches { ConsumerBatches(consumer: self) }

    /// The record batches as an `AsyncSequence`.
    public struct ConsumerBatches: AsyncSequence, Sendable {
        public typealias Element = [ConsumerRecord]
        let consumer: KafkaConsumer

        public func makeAsyncIterator() -> Iterator { Iterator(consumer: consumer) }

        public struct Iterator: AsyncIteratorProtocol {
            let consumer: KafkaConsumer

            public mutating func next() async throws -> [ConsumerRecord]? {
                while let chunk = try await consumer.nextChunk() {
                    guard let last = chunk.records.last,
                        consumer.handOut(last, epoch: chunk.epoch, position: chunk.next)
                    else { continue }
                    return chunk.records
                }
                return nil
            }
        }
    }

    /// Records a record as handed out (its partition's position moves past it); false when a
    /// seek made it stale.
    fileprivate func handOut(_ record: ConsumerRecord, epoch: Int, position: Int64) -> Bool {
        state.withLockedValue { state in
            let key = TopicPartition(record.topic, record.partition)
            guard var entry = state.partitions[key], entry.epoch == epoch else { return false }
            entry.consumed = position
            state.partitions[key] = entry
            return true
        }
    }

    /// The next buffered chunk, waiting for one; nil once closed.
    fileprivate func nextChunk() async throws -> Chunk? {
        while true {
            let (chunk, done, failure) = state.withLockedValue { state -> (Chunk?, Bool, (any Error)?) in
                if let failure = state.failure { return (nil, true, failure) }
                while !state.chunks.isEmpty {
                    let chunk = state.chunks.removeFirst()
                    state.bufferedBytes -= chunk.bytes
                    if state.partitions[chunk.partition]?.epoch == chunk.epoch { return (chunk, false, nil) }
                }
                return (nil, state.closed, nil)
            }
            if let failure { throw failure }
            if let chunk {
                fetchWake.fire()
                return chunk
            }
            if done { return nil }
            await recordsWake.wait(until: nil)
        }
    }

    // MARK: Offsets

    /// Commits the position of every assigned partition (after the last record handed out) to
    /// the group.
    public func commit() async throws {
        let positions = state.withLockedValue { state in
            state.partitions.compactMapValues { $0.consumed }
        }
        try await commit(positions)
    }

    /// Commits these offsets (the next offset to read, as Kafka stores them) to the group,
    /// with the member's generation while it is in one.
    public func commit(_ offsets: [TopicPartition: Int64]) async throws {
        guard !offsets.isEmpty else { return }
        guard let groupId = configuration.groupId else {
            throw SamsaClientError.invalidConfiguration("commit needs group.id")
        }
        var identity = GroupOffsets.Identity()
        if let membership = state.withLockedValue({ $0.membership }) {
            let current = await membership.commitIdentity
            identity = GroupOffsets.Identity(generation: current.generation, memberId: current.memberId, instanceId: current.instanceId)
        } else if let membership = state.withLockedValue({ $0.consumerMembership }) {
            let current = await membership.commitIdentity
            identity = GroupOffsets.Identity(generation: current.generation, memberId: current.memberId, instanceId: current.instanceId)
        }
        try await GroupOffsets.commit(offsets, group: groupId, identity: identity, cluster: cluster, configuration: configuration.client)
        state.withLockedValue { state in
            for (partition, offset) in offsets { state.committed[partition] = offset }
        }
    }

    /// The group's committed offsets of these partitions (absent where it has none).
    public func committed(_ partitions: [TopicPartition]) async throws -> [TopicPartition: Int64] {
        guard let groupId = configuration.groupId else {
            throw SamsaClientError.invalidConfiguration("committed offsets need group.id")
        }
        return try await GroupOffsets.committed(
            partitions, group: groupId, requireStable: configuration.isolationLevel == .readCommitted, cluster: cluster,
            configuration: configuration.client)
    }

    // MARK: Closing

    /// Stops fetching, commits the positions (with auto-commit and a group), and closes the
    /// connections. Iterations of `records` end.
    public func close() async {
        let wasClosed = state.withLockedValue { state in
            defer { state.closed = true }
            return state.closed
        }
        guard !wasClosed else { return }
        fetchWake.fire()
        recordsWake.fire()
        heartbeatWake.fire()
        await fetcher.withLockedValue { $0 }?.value
        if let group = groupTask.withLockedValue({ $0 }) {
            // A JoinGroup can wait for a whole rebalance: closing the connections ends it.
            if state.withLockedValue({ $0.joining }) { await cluster.close() }
            await group.value
            rebalanceContinuation.finish()
            await cluster.close()
            return
        }
        rebalanceContinuation.finish()
        if configuration.enableAutoCommit && configuration.groupId != nil {
            do {
                try await commit()
            } catch {
                logger.warning("could not commit at close", metadata: ["error": "\(error)"])
            }
        }
        await cluster.close()
    }

    /// Runs until a graceful shutdown, then closes (committing processed offsets).
    public func run() async throws {
        try await gracefulShutdown()
        await close()
    }

    // MARK: The fetcher

    private func runFetcher() async {
        var lastAutoCommit = ContinuousClock.now
        var attempt = 0
        while !state.withLockedValue({ $0.closed }) {
            do {
                try await resolvePending()
                let fetched = try await fetchOnce()
                attempt = 0
                if configuration.enableAutoCommit, configuration.groupId != nil,
                    ContinuousClock.now - lastAutoCommit >= .milliseconds(configuration.autoCommitIntervalMs)
                {
                    lastAutoCommit = .now
                    try? await commit()
                }
                if !fetched { await fetchWake.wait(until: .now + .milliseconds(configuration.fetchMaxWaitMs)) }
            } catch let error as KafkaError where !error.isRetriable {
                state.withLockedValue { $0.failure = error }
                recordsWake.fire()
                return
            } catch {
                logger.debug("fetch failed", metadata: ["error": "\(error)"])
                await cluster.invalidateMetadata()
                let backoff = configuration.client.backoffMs(attempt: attempt, random: Double.random(in: 0...1))
                attempt += 1
                await fetchWake.wait(until: .now + .milliseconds(backoff))
            }
        }
    }

    /// Turns pending starts (after OFFSET_OUT_OF_RANGE, `auto.offset.reset`) into offsets.
    private func resolvePending() async throws {
        let pending = state.withLockedValue { state in
            state.partitions.compactMapValues { $0.fetchPosition == nil ? ($0.pending ?? .latest) : nil }
        }
        guard !pending.isEmpty else { return }
        let resolved = try await resolve(pending)
        state.withLockedValue { state in
            for (partition, offset) in resolved {
                guard var entry = state.partitions[partition], entry.fetchPosition == nil else { continue }
                entry.fetchPosition = offset
                entry.consumed = offset
                entry.pending = nil
                state.partitions[partition] = entry
            }
        }
    }

    /// ListOffsets for each partition's leader: the offset for each timestamp (-2 earliest,
    /// -1 latest); a timestamp after every record gives the end offset.
    func listOffsets(_ timestamps: [TopicPartition: Int64]) async throws -> [TopicPartition: Int64] {
        try await PartitionOffsets.list(timestamps, isolation: configuration.isolationLevel, cluster: cluster)
    }

    /// One round of fetches, one per leader, side by side. False when nothing was fetched
    /// (nothing assigned, everything paused, or the buffer is full).
    private func fetchOnce() async throws -> Bool {
        let (positions, full) = state.withLockedValue { state -> ([TopicPartition: (Int64, Int)], Bool) in
            let positions = state.partitions.compactMapValues { entry -> (Int64, Int)? in
                guard !entry.paused, let position = entry.fetchPosition else { return nil }
                return (position, entry.epoch)
            }
            return (positions, state.bufferedBytes >= configuration.maxBufferedBytes)
        }
        guard !positions.isEmpty, !full else { return false }
        let metadata = try await cluster.metadata(for: Array(Set(positions.keys.map(\.topic))))
        var byLeader: [Int32: [TopicPartition]] = [:]
        for partition in positions.keys {
            guard let leader = metadata.leader(of: partition.topic, partition: partition.partition) else {
                await cluster.invalidateMetadata()
                continue
            }
            byLeader[leader, default: []].append(partition)
        }
        let fetchedAny = try await withThrowingTaskGroup(of: Bool.self, returning: Bool.self) { group in
            for (leader, partitions) in byLeader {
                group.addTask {
                    try await self.fetch(partitions.sorted(), from: leader, positions: positions)
                }
            }
            var any = false
            for try await fetched in group { any = any || fetched }
            return any
        }
        return fetchedAny
    }

    private func fetch(_ partitions: [TopicPartition], from leader: Int32, positions: [TopicPartition: (Int64, Int)]) async throws -> Bool {
        var request = FetchRequest()
        request.replicaId = -1
        request.maxWaitMs = configuration.fetchMaxWaitMs
        request.minBytes = configuration.fetchMinBytes
        request.maxBytes = configuration.fetchMaxBytes
        request.isolationLevel = configuration.isolationLevel.rawValue
        request.sessionId = 0
        request.sessionEpoch = -1
        let topicIds = cluster.snapshot.withLockedValue { metadata in metadata.topics.mapValues(\.id) }
        request.topics = Dictionary(grouping: partitions, by: \.topic).sorted { $0.key < $1.key }.map { topic, entries in
            var entry = FetchRequest.FetchTopic()
            entry.topic = topic
            entry.topicId = topicIds[topic] ?? .zero
            entry.partitions = entries.map { partition in
                var item = FetchRequest.FetchPartition()
                item.partition = partition.partition
                item.fetchOffset = positions[partition]!.0
                item.partitionMaxBytes = configuration.maxPartitionFetchBytes
                return item
            }
            return entry
        }
        let connection = try await cluster.connection(to: leader)
        // Fetch v13+ names topics by id only; stay at 12 unless every topic id is known.
        let idsKnown = request.topics.allSatisfy { $0.topicId != .zero }
        guard let version = connection.versions.version(for: FetchRequest.self) else {
            throw SamsaClientError.unsupportedVersion(api: .fetch, broker: connection.address.description)
        }
        let timeout = TimeAmount.milliseconds(configuration.client.requestTimeoutMs + Int64(configuration.fetchMaxWaitMs))
        let response = try await connection.send(request, version: idsKnown ? version : min(version, 12), timeout: timeout)
        if response.errorCode != 0 { throw KafkaError(ErrorCode(rawValue: response.errorCode)) }
        var chunks: [Chunk] = []
        var advanced: [TopicPartition: Int64] = [:]
        var resets: [TopicPartition] = []
        var refresh = false
        let names = topicIds.reduce(into: [KafkaUUID: String]()) { $0[$1.value] = $1.key }
        for topic in response.responses {
            let name = topic.topic.isEmpty ? names[topic.topicId] ?? "" : topic.topic
            for data in topic.partitions {
                let key = TopicPartition(name, data.partitionIndex)
                guard let (position, epoch) = positions[key] else { continue }
                let code = ErrorCode(rawValue: data.errorCode)
                switch code {
                case .noError:
                    let decoded = try FetchDecoder.decode(
                        topic: name, partition: data.partitionIndex, data: data, position: position, isolation: configuration.isolationLevel
                    )
                    if decoded.next > position { advanced[key] = decoded.next }
                    if !decoded.records.isEmpty {
                        chunks.append(
                            Chunk(partition: key, epoch: epoch, records: decoded.records, bytes: decoded.bytes, next: decoded.next))
                    }
                case .offsetOutOfRange:
                    guard configuration.autoOffsetReset != .none else {
                        throw KafkaError(code, topic: name, partition: data.partitionIndex)
                    }
                    resets.append(key)
                case .notLeaderOrFollower, .unknownTopicOrPartition, .fencedLeaderEpoch, .leaderNotAvailable, .unknownTopicId,
                    .kafkaStorageError:
                    refresh = true
                default:
                    if !code.isRetriable {
                        throw KafkaError(code, topic: name, partition: data.partitionIndex)
                    }
                }
            }
        }
        if refresh { await cluster.invalidateMetadata() }
        let reset: OffsetSpec = configuration.autoOffsetReset == .earliest ? .earliest : .latest
        state.withLockedValue { state in
            for chunk in chunks where state.partitions[chunk.partition]?.epoch == chunk.epoch {
                state.chunks.append(chunk)
                state.bufferedBytes += chunk.bytes
            }
            for (partition, next) in advanced where state.partitions[partition]?.epoch == positions[partition]!.1 {
                state.partitions[partition]?.fetchPosition = next
                // Only markers or aborted data came, and nothing of the partition waits to be
                // handed out: the position moves past them now.
                if !state.chunks.contains(where: { $0.partition == partition }) {
                    state.partitions[partition]?.consumed = next
                }
            }
            for partition in resets where state.partitions[partition]?.epoch == positions[partition]!.1 {
                state.partitions[partition]?.fetchPosition = nil
                state.partitions[partition]?.pending = reset
            }
        }
        if !chunks.isEmpty { recordsWake.fire() }
        return !chunks.isEmpty || !advanced.isEmpty
    }
}
