import SamsaProtocol

/// Settings of the transaction coordinator (Kafka's broker configs of the same names).
public struct TransactionCoordinatorSettings: Hashable, Sendable {
    /// `transaction.max.timeout.ms`: the largest timeout a producer may ask for (15 min).
    public var maxTransactionTimeoutMs: Int32
    /// `transactional.id.expiration.ms`: an idle transactional id is forgotten after this (7 days).
    public var transactionalIdExpirationMs: Int64

    public init(maxTransactionTimeoutMs: Int32 = 900_000, transactionalIdExpirationMs: Int64 = 604_800_000) {
        self.maxTransactionTimeoutMs = maxTransactionTimeoutMs
        self.transactionalIdExpirationMs = transactionalIdExpirationMs
    }
}

/// What the coordinator asks its owner to do, in order.
public enum TransactionAction: Hashable, Sendable {
    /// Write this state to `__transaction_state` and wait until it is durable before the actions after it.
    case persist(TransactionMetadata)
    /// Write a tombstone for the transactional id (it expired).
    case remove(transactionalId: String)
    /// Write COMMIT (or ABORT) control batches with this producer id and epoch to every partition,
    /// durably, then report ``TransactionCoordinatorState/markersWritten(transactionalId:now:)``.
    case writeMarkers(transactionalId: String, producerId: Int64, producerEpoch: Int16, commit: Bool, partitions: [TransactionPartition])
}

/// The transaction coordinator as a pure state machine (Kafka's `TransactionCoordinator` and
/// `TransactionStateManager`): every transactional id's ``TransactionMetadata``, events in with
/// the current time, results and ``TransactionAction``s out; no I/O and no clock.
///
/// A broker drives it: it persists each state the machine hands it to `__transaction_state`
/// before it answers or writes markers, writes the markers of a prepared transaction (durably)
/// before calling ``markersWritten(transactionalId:now:)``, calls ``expire(now:)`` at
/// ``nextDeadline``, and after a restart replays the log with ``restore(_:)`` and completes
/// the ``pendingCompletions`` (transactions a crash caught between prepare and complete).
///
/// Epochs: InitProducerId bumps the epoch, fencing older producers of the id; an ongoing
/// transaction is aborted first (the caller gets CONCURRENT_TRANSACTIONS and retries, as with
/// Kafka). When the epoch would reach `Int16.max`, a new producer id starts at epoch 0 (KIP-360).
/// Stale epochs get PRODUCER_FENCED; the broker maps that to INVALID_PRODUCER_EPOCH for request
/// versions that predate it, as Kafka does.
public struct TransactionCoordinatorState: Sendable {
    public let settings: TransactionCoordinatorSettings
    public private(set) var transactions: [String: TransactionMetadata] = [:]

    public init(settings: TransactionCoordinatorSettings = TransactionCoordinatorSettings()) {
        self.settings = settings
    }

    /// A producer id and epoch handed to a producer.
    public struct ProducerIdAndEpoch: Hashable, Sendable {
        public var producerId: Int64
        public var producerEpoch: Int16

        public init(producerId: Int64, producerEpoch: Int16) {
            self.producerId = producerId
            self.producerEpoch = producerEpoch
        }
    }

    // MARK: InitProducerId

    /// InitProducerId with a transactional id. `expected` is the KIP-360 form (a producer that
    /// already had an id and epoch); `allocateProducerId` makes a new, never used producer id.
    public mutating func initProducerId(
        transactionalId: String, transactionTimeoutMs: Int32, expected: ProducerIdAndEpoch? = nil, now: Int64,
        allocateProducerId: () -> Int64
    ) -> (Result<ProducerIdAndEpoch, TransactionError>, [TransactionAction]) {
        guard transactionTimeoutMs > 0, transactionTimeoutMs <= settings.maxTransactionTimeoutMs else {
            return (.failure(.invalidTransactionTimeout), [])
        }
        guard var metadata = transactions[transactionalId] else {
            let created = TransactionMetadata(
                transactionalId: transactionalId, producerId: allocateProducerId(), producerEpoch: 0,
                transactionTimeoutMs: transactionTimeoutMs, state: .empty, lastUpdateTimestamp: now)
            // A KIP-360 request for an id this coordinator does not know (it expired, or the
            // producer recovers from UNKNOWN_PRODUCER_ID) gets the new producer id, as in Kafka.
            transactions[transactionalId] = created
            return (.success(ProducerIdAndEpoch(producerId: created.producerId, producerEpoch: 0)), [.persist(created)])
        }
        if metadata.state.isCompleting {
            return (.failure(.concurrentTransactions), [])
        }
        if let expected, let problem = Self.checkExpected(expected, against: metadata) {
            return (.failure(problem), [])
        }
        if let expected, expected.producerId == metadata.producerId, expected.producerEpoch == metadata.lastProducerEpoch,
            metadata.state != .ongoing
        {
            // A retry of the InitProducerId that bumped the epoch: the same answer.
            return (.success(ProducerIdAndEpoch(producerId: metadata.producerId, producerEpoch: metadata.producerEpoch)), [])
        }
        if metadata.state == .ongoing {
            // An earlier epoch left a transaction running: fence it and abort it first.
            return (.failure(.concurrentTransactions), fenceAndAbort(&metadata, now: now))
        }
        bumpEpoch(&metadata, allocateProducerId: allocateProducerId)
        metadata.transactionTimeoutMs = transactionTimeoutMs
        metadata.state = .empty
        metadata.partitions = []
        metadata.transactionStartTimestamp = -1
        metadata.lastUpdateTimestamp = now
        transactions[transactionalId] = metadata
        return (.success(ProducerIdAndEpoch(producerId: metadata.producerId, producerEpoch: metadata.producerEpoch)), [.persist(metadata)])
    }

    private static func checkExpected(_ expected: ProducerIdAndEpoch, against metadata: TransactionMetadata) -> TransactionError? {
        if expected.producerId == metadata.producerId {
            // The current epoch, or the one before a bump whose answer was lost.
            return expected.producerEpoch == metadata.producerEpoch || expected.producerEpoch == metadata.lastProducerEpoch
                ? nil : .producerFenced
        }
        // The id before the epoch ran out, at its last epoch.
        return expected.producerId == metadata.previousProducerId ? nil : .producerFenced
    }

    private func bumpEpoch(_ metadata: inout TransactionMetadata, allocateProducerId: () -> Int64) {
        if metadata.producerEpoch >= Int16.max - 1 {
            metadata.previousProducerId = metadata.producerId
            metadata.producerId = allocateProducerId()
            metadata.lastProducerEpoch = -1
            metadata.producerEpoch = 0
        } else {
            metadata.lastProducerEpoch = metadata.producerEpoch
            metadata.producerEpoch += 1
        }
    }

    /// Fences the running transaction's epoch and starts its abort (InitProducerId from a new
    /// producer, or the timeout): the epoch is bumped so the old producer can write no more.
    private mutating func fenceAndAbort(_ metadata: inout TransactionMetadata, now: Int64) -> [TransactionAction] {
        // The fence always takes a new epoch, up to Int16.max (as Kafka's
        // prepareFenceProducerEpoch); the next InitProducerId then finds the epochs exhausted and
        // moves to a new producer id.
        if metadata.producerEpoch < Int16.max {
            metadata.lastProducerEpoch = metadata.producerEpoch
            metadata.producerEpoch += 1
        }
        metadata.state = .prepareAbort
        metadata.lastUpdateTimestamp = now
        transactions[metadata.transactionalId] = metadata
        return [
            .persist(metadata),
            .writeMarkers(
                transactionalId: metadata.transactionalId, producerId: metadata.producerId, producerEpoch: metadata.producerEpoch,
                commit: false, partitions: metadata.partitions.sorted()),
        ]
    }

    // MARK: Adding partitions and offsets

    /// AddPartitionsToTxn (and, with the group's `__consumer_offsets` partition, AddOffsetsToTxn).
    public mutating func addPartitions(
        transactionalId: String, producerId: Int64, producerEpoch: Int16, partitions: [TransactionPartition], now: Int64
    ) -> (Result<Void, TransactionError>, [TransactionAction]) {
        guard var metadata = transactions[transactionalId] else { return (.failure(.invalidProducerIdMapping), []) }
        if let problem = Self.checkProducer(producerId, producerEpoch, against: metadata) { return (.failure(problem), []) }
        if metadata.state.isCompleting { return (.failure(.concurrentTransactions), []) }
        if metadata.state == .ongoing && Set(partitions).isSubset(of: metadata.partitions) { return (.success(()), []) }
        if metadata.state != .ongoing {
            metadata.partitions = []
            metadata.transactionStartTimestamp = now
        }
        metadata.state = .ongoing
        metadata.partitions.formUnion(partitions)
        metadata.lastUpdateTimestamp = now
        transactions[transactionalId] = metadata
        return (.success(()), [.persist(metadata)])
    }

    /// Whether `partition` was added to the ongoing transaction of this producer (KIP-890's
    /// verification before a transactional produce is appended).
    public func isInTransaction(
        _ partition: TransactionPartition, transactionalId: String, producerId: Int64, producerEpoch: Int16
    ) -> Result<Bool, TransactionError> {
        guard let metadata = transactions[transactionalId] else { return .failure(.invalidProducerIdMapping) }
        if let problem = Self.checkProducer(producerId, producerEpoch, against: metadata) { return .failure(problem) }
        return .success(metadata.state == .ongoing && metadata.partitions.contains(partition))
    }

    private static func checkProducer(
        _ producerId: Int64, _ producerEpoch: Int16, against metadata: TransactionMetadata
    )
        -> TransactionError?
    {
        guard producerId == metadata.producerId else { return .invalidProducerIdMapping }
        guard producerEpoch == metadata.producerEpoch else { return .producerFenced }
        return nil
    }

    // MARK: Ending

    /// EndTxn. A retried commit (or abort) of a transaction already completing or complete the
    /// same way answers as the first did; the other way round is INVALID_TXN_STATE.
    ///
    /// With `bumpsEpoch` (EndTxn v5, transactions V2, KIP-890 part 2) every ending takes a new
    /// epoch: the markers carry it, so the producer's late writes of the ended transaction are
    /// fenced, and the answer hands it to the producer for its next transaction. A retry then
    /// comes with the epoch before the bump and gets the current id and epoch. An abort with no
    /// transaction running also bumps the epoch (the client's way out of an abortable error).
    /// When the epochs are exhausted the transaction ends on a new producer id (from
    /// `allocateProducerId`), which the answer carries.
    public mutating func endTransaction(
        transactionalId: String, producerId: Int64, producerEpoch: Int16, commit: Bool, bumpsEpoch: Bool = false, now: Int64,
        allocateProducerId: () -> Int64 = { -1 }
    ) -> (Result<ProducerIdAndEpoch, TransactionError>, [TransactionAction]) {
        guard var metadata = transactions[transactionalId] else { return (.failure(.invalidProducerIdMapping), []) }
        let current = ProducerIdAndEpoch(producerId: metadata.producerId, producerEpoch: metadata.producerEpoch)
        if bumpsEpoch, let retry = Self.retriedEnding(metadata, producerId: producerId, producerEpoch: producerEpoch, commit: commit) {
            return (retry, [])
        }
        guard producerId == metadata.producerId else { return (.failure(.invalidProducerIdMapping), []) }
        // A retry after the coordinator's own abort bumped the epoch is fenced, not a retry.
        guard producerEpoch == metadata.producerEpoch else { return (.failure(.producerFenced), []) }
        // Without a running transaction a V2 abort has nothing to mark: it only moves the
        // producer to a new epoch, through Kafka's same states.
        let abortsNothing = bumpsEpoch && !commit && [.empty, .completeCommit, .completeAbort].contains(metadata.state)
        if metadata.state == .ongoing || abortsNothing {
            if abortsNothing { metadata.partitions = [] }
            metadata.state = commit ? .prepareCommit : .prepareAbort
            if bumpsEpoch { Self.bumpForEnding(&metadata, allocateProducerId: allocateProducerId) }
            metadata.lastUpdateTimestamp = now
            transactions[transactionalId] = metadata
            return (
                .success(Self.idAfterEnding(metadata)),
                [
                    .persist(metadata),
                    .writeMarkers(
                        transactionalId: transactionalId, producerId: metadata.producerId, producerEpoch: metadata.producerEpoch,
                        commit: commit, partitions: metadata.partitions.sorted()),
                ]
            )
        }
        switch (metadata.state, commit) {
        case (.completeCommit, true), (.completeAbort, false):
            return (.success(current), [])
        case (.prepareCommit, true), (.prepareAbort, false):
            return (.failure(.concurrentTransactions), [])
        case (.prepareEpochFence, _):
            return (.failure(.producerFenced), [])
        default:
            return (.failure(.invalidTxnState), [])
        }
    }

    /// A transactions-V2 EndTxn that repeats one whose epoch bump already happened: the
    /// producer sends the epoch before the bump (or, after a move to a new producer id, the old
    /// id). Nil when the request is not such a retry.
    private static func retriedEnding(
        _ metadata: TransactionMetadata, producerId: Int64, producerEpoch: Int16, commit: Bool
    ) -> Result<ProducerIdAndEpoch, TransactionError>? {
        let sameId = producerId == metadata.producerId && Int32(producerEpoch) + 1 == Int32(metadata.producerEpoch)
        let movedId = producerId == metadata.previousProducerId && metadata.producerEpoch == 0 && producerEpoch >= Int16.max - 1
        let pendingMove = producerId == metadata.producerId && metadata.nextProducerId >= 0 && producerEpoch + 1 == metadata.producerEpoch
        guard sameId || movedId || pendingMove else { return nil }
        switch (metadata.state, commit) {
        case (.completeCommit, true), (.completeAbort, false):
            return .success(ProducerIdAndEpoch(producerId: metadata.producerId, producerEpoch: metadata.producerEpoch))
        case (.prepareCommit, true), (.prepareAbort, false):
            return .failure(.concurrentTransactions)
        case (.completeCommit, false), (.completeAbort, true), (.prepareCommit, false), (.prepareAbort, true):
            return .failure(.invalidTxnState)
        default:
            return nil
        }
    }

    /// The epoch bump of a transactions-V2 ending: one more epoch (up to `Int16.max`, which the
    /// markers then carry), and a new producer id to move to at completion once they run out.
    private static func bumpForEnding(_ metadata: inout TransactionMetadata, allocateProducerId: () -> Int64) {
        if metadata.producerEpoch >= Int16.max - 1 {
            metadata.nextProducerId = allocateProducerId()
        }
        if metadata.producerEpoch < Int16.max {
            metadata.lastProducerEpoch = metadata.producerEpoch
            metadata.producerEpoch += 1
        }
    }

    /// The id and epoch a producer uses after an ending: the next producer id at epoch 0 when
    /// the ending moves to one, else the (bumped) current pair.
    private static func idAfterEnding(_ metadata: TransactionMetadata) -> ProducerIdAndEpoch {
        metadata.nextProducerId >= 0
            ? ProducerIdAndEpoch(producerId: metadata.nextProducerId, producerEpoch: 0)
            : ProducerIdAndEpoch(producerId: metadata.producerId, producerEpoch: metadata.producerEpoch)
    }

    /// Moves `metadata` to a complete state: no partitions, no start, and the move to the next
    /// producer id if one is pending.
    private static func complete(_ metadata: inout TransactionMetadata, state: TransactionState, now: Int64) {
        metadata.state = state
        metadata.partitions = []
        metadata.transactionStartTimestamp = -1
        metadata.lastUpdateTimestamp = now
        if metadata.nextProducerId >= 0 {
            metadata.previousProducerId = metadata.producerId
            metadata.producerId = metadata.nextProducerId
            metadata.nextProducerId = -1
            metadata.producerEpoch = 0
            metadata.lastProducerEpoch = -1
        }
    }

    /// The markers of a prepared transaction are durable: it completes, and its partitions are cleared.
    public mutating func markersWritten(transactionalId: String, now: Int64) -> [TransactionAction] {
        guard var metadata = transactions[transactionalId] else { return [] }
        switch metadata.state {
        case .prepareCommit: Self.complete(&metadata, state: .completeCommit, now: now)
        case .prepareAbort: Self.complete(&metadata, state: .completeAbort, now: now)
        default: return []
        }
        transactions[transactionalId] = metadata
        return [.persist(metadata)]
    }

    // MARK: Time

    /// The earliest time ``expire(now:)`` has something to do: a transaction's timeout or an
    /// idle id's expiry.
    public var nextDeadline: Int64? {
        transactions.values.compactMap { metadata -> Int64? in
            if let timeout = metadata.timeoutDeadline { return timeout }
            if metadata.state == .empty || metadata.state == .completeCommit || metadata.state == .completeAbort {
                return metadata.lastUpdateTimestamp + settings.transactionalIdExpirationMs
            }
            return nil
        }.min()
    }

    /// Aborts transactions past their timeout (bumping the epoch, so the silent producer is
    /// fenced), and forgets transactional ids idle past `transactional.id.expiration.ms`.
    public mutating func expire(now: Int64) -> [TransactionAction] {
        var actions: [TransactionAction] = []
        for id in transactions.keys.sorted() {
            guard var metadata = transactions[id] else { continue }
            if let deadline = metadata.timeoutDeadline, deadline <= now {
                actions += fenceAndAbort(&metadata, now: now)
            } else if [.empty, .completeCommit, .completeAbort].contains(metadata.state),
                metadata.lastUpdateTimestamp + settings.transactionalIdExpirationMs <= now
            {
                transactions[id] = nil
                actions.append(.remove(transactionalId: id))
            }
        }
        return actions
    }

    // MARK: Recovery and queries

    /// Replays `__transaction_state`: the latest state of each id (nil for a tombstone).
    public mutating func restore(_ records: [(transactionalId: String, metadata: TransactionMetadata?)]) {
        for (id, metadata) in records {
            transactions[id] = metadata
        }
    }

    /// The marker writes that transactions caught between prepare and complete still need
    /// (after a restart): the broker writes them and reports ``markersWritten(transactionalId:now:)``.
    public var pendingCompletions: [TransactionAction] {
        transactions.values.sorted { $0.transactionalId < $1.transactionalId }.compactMap { metadata in
            guard metadata.state == .prepareCommit || metadata.state == .prepareAbort else { return nil }
            return .writeMarkers(
                transactionalId: metadata.transactionalId, producerId: metadata.producerId, producerEpoch: metadata.producerEpoch,
                commit: metadata.state == .prepareCommit, partitions: metadata.partitions.sorted())
        }
    }

    /// ListTransactions: the ids in one of `states` (all when empty), of one of `producerIds`
    /// (all when empty), running for at least `minimumDurationMs` at `now` (all when nil).
    public func list(
        states: Set<TransactionState> = [], producerIds: Set<Int64> = [], minimumDurationMs: Int64? = nil, now: Int64
    )
        -> [TransactionMetadata]
    {
        transactions.values.filter { metadata in
            (states.isEmpty || states.contains(metadata.state)) && (producerIds.isEmpty || producerIds.contains(metadata.producerId))
                && (minimumDurationMs.map { metadata.transactionStartTimestamp >= 0 && now - metadata.transactionStartTimestamp >= $0 }
                    ?? true)
        }.sorted { $0.transactionalId < $1.transactionalId }
    }
}

/// A Kafka outcome of a transaction request.
public enum TransactionError: Error, Hashable, Sendable {
    case invalidTransactionTimeout
    case concurrentTransactions
    case producerFenced
    case invalidProducerIdMapping
    case invalidTxnState

    /// The Kafka error code.
    public var errorCode: ErrorCode {
        switch self {
        case .invalidTransactionTimeout: .invalidTransactionTimeout
        case .concurrentTransactions: .concurrentTransactions
        case .producerFenced: .producerFenced
        case .invalidProducerIdMapping: .invalidProducerIdMapping
        case .invalidTxnState: .invalidTxnState
        }
    }
}
