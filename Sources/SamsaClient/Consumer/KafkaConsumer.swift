import CoreMetrics
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
    let metrics: ConsumerMetrics
    let logger: Logger
    let state: NIOLockedValueBox<State>
    let fetchWake = WakeSignal()
    let recordsWake = WakeSignal()
    let fetcher: NIOLockedValueBox<Task<Void, Never>?> = NIOLockedValueBox(nil)
    let groupTask: NIOLockedValueBox<Task<Void, Never>?> = NIOLockedValueBox(nil)
    let heartbeatWake = WakeSignal()
    let rebalanceContinuation: AsyncStream<RebalanceEvent>.Continuation

    /// The partitions this consumer gains and gives up as its group rebalances (after
    /// ``subscribe(_:)``), in order. Ends when the consumer closes.
    public let rebalanceEvents: AsyncStream<RebalanceEvent>

    /// A partition's position reached its end (the high watermark, or under read_committed
    /// the last stable offset) with nothing left to hand out: once per position, like
    /// librdkafka's partition EOF. A read that ends in transaction markers or aborted records
    /// moves the position without handing out a record; this tells it. Keeps the newest 1024
    /// events when nobody reads them; ends when the consumer closes.
    public let partitionEnds: AsyncStream<PartitionEnd>
    let partitionEndContinuation: AsyncStream<PartitionEnd>.Continuation

    struct PartitionState {
        /// Where the next fetch starts; nil until `pending` is resolved.
        var fetchPosition: Int64?
        /// A start not yet turned into an offset (ListOffsets).
        var pending: OffsetSpec?
        /// After the last record handed out (what a commit stores).
        var consumed: Int64?
        var paused = false
        /// New at every seek, so records fetched before it are dropped.
        var epoch = 0
        /// The position last reported in ``partitionEnds``.
        var reportedEnd: Int64?
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
        /// The last partition epoch given out. Epochs are unique across partitions and over
        /// time, so a fetch or chunk from before a partition was dropped and assigned again
        /// never matches the new entry.
        var lastEpoch = 0
        /// Set while subscribed to topics in a classic group.
        var membership: ClassicGroupMembership?
        /// Set while subscribed to topics in a KIP-848 group.
        var consumerMembership: ConsumerProtocolMembership?
        /// True while the group task waits in JoinGroup/SyncGroup.
        var joining = false
        /// The incremental fetch session with each broker fetched from, by node id.
        var fetchSessions: [Int32: FetchSession] = [:]

        /// Reads `partition` from `offset` on (adding it if it is new); chunks fetched for it
        /// before are dropped, and so are records of them still being handed out.
        mutating func start(_ partition: TopicPartition, at offset: Int64) {
            var entry = partitions[partition] ?? PartitionState()
            lastEpoch += 1
            entry.epoch = lastEpoch
            entry.pending = nil
            entry.fetchPosition = offset
            entry.consumed = offset
            partitions[partition] = entry
            removeChunks { $0.partition == partition }
        }

        /// True when every record of `partition` before `position` was handed out: no chunk of it
        /// is buffered, and the position handed out reached `position` (so the chunk a records
        /// iterator may hold is done). Only then may the position move past what a fetch from
        /// `position` found without records (markers, aborted data) or be reset.
        func handedOutEverything(of partition: TopicPartition, before position: Int64) -> Bool {
            partitions[partition]?.consumed == position && !chunks.contains { $0.partition == partition }
        }

        /// Stops reading `dropped` and forgets what was fetched for them.
        mutating func stop(_ dropped: Set<TopicPartition>) {
            for partition in dropped { partitions[partition] = nil }
            removeChunks { dropped.contains($0.partition) }
        }

        mutating func removeChunks(where shouldRemove: (Chunk) -> Bool) {
            chunks.removeAll(where: shouldRemove)
            bufferedBytes = chunks.reduce(0) { $0 + $1.bytes }
        }
    }

    public init(configuration: ConsumerConfiguration, logger: Logger = Logger(label: "samsa.consumer")) throws {
        self.configuration = configuration
        self.logger = logger
        self.cluster = ClusterClient(configuration: configuration.client, logger: logger)
        self.metrics = ConsumerMetrics(configuration: configuration.client)
        self.state = NIOLockedValueBox(State())
        (rebalanceEvents, rebalanceContinuation) = AsyncStream.makeStream(of: RebalanceEvent.self)
        (partitionEnds, partitionEndContinuation) = AsyncStream.makeStream(of: PartitionEnd.self, bufferingPolicy: .bufferingNewest(1024))
        let task = Task { [self] in await self.runFetcher() }
        fetcher.withLockedValue { $0 = task }
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
            state.stop(Set(state.partitions.keys).subtracting(offsets.keys))
            for (partition, offset) in offsets { state.start(partition, at: offset) }
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
            guard state.partitions[partition] != nil else { return }
            state.start(partition, at: offset)
        }
        fetchWake.fire()
    }

    /// The offset each start stands for (ListOffsets for earliest, latest and timestamps).
    func resolve(_ starts: [TopicPartition: OffsetSpec]) async throws -> [TopicPartition: Int64] {
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
        let identity = await groupIdentity() ?? GroupOffsets.Identity()
        try await GroupOffsets.commit(offsets, group: groupId, identity: identity, cluster: cluster, configuration: configuration.client)
        metrics.commits.increment()
    }

    /// Tells the application about a rebalance (``rebalances``), and counts assignments.
    func announce(_ event: RebalanceEvent) {
        if case .assigned = event { metrics.rebalances.increment() }
        rebalanceContinuation.yield(event)
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
            partitionEndContinuation.finish()
            await cluster.close()
            return
        }
        rebalanceContinuation.finish()
        partitionEndContinuation.finish()
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
}
