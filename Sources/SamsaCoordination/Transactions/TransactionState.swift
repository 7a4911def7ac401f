/// A transactional id's state, as Kafka's `TransactionState`, with Kafka's byte ids (stored in
/// `__transaction_state`) and names (DescribeTransactions, ListTransactions).
public enum TransactionState: Int8, Hashable, Sendable, CaseIterable, CustomStringConvertible {
    /// No transaction is running; the producer id and epoch are set.
    case empty = 0
    /// A transaction is running: partitions (and offsets) have been added.
    case ongoing = 1
    /// EndTxn(commit) was accepted; the COMMIT markers are being written.
    case prepareCommit = 2
    /// EndTxn(abort), a timeout or a fencing aborts the transaction; ABORT markers are being written.
    case prepareAbort = 3
    /// The markers of a commit are durable.
    case completeCommit = 4
    /// The markers of an abort are durable.
    case completeAbort = 5
    /// The transactional id expired and is being removed.
    case dead = 6
    /// A newer producer (or the timeout) fences the current epoch before the transaction is aborted.
    case prepareEpochFence = 7

    /// Kafka's name of the state.
    public var description: String {
        switch self {
        case .empty: "Empty"
        case .ongoing: "Ongoing"
        case .prepareCommit: "PrepareCommit"
        case .prepareAbort: "PrepareAbort"
        case .completeCommit: "CompleteCommit"
        case .completeAbort: "CompleteAbort"
        case .dead: "Dead"
        case .prepareEpochFence: "PrepareEpochFence"
        }
    }

    /// The state named `name` (Kafka's names, as ListTransactions filters give them).
    public init?(name: String) {
        guard let state = Self.allCases.first(where: { $0.description == name }) else { return nil }
        self = state
    }

    /// The states Kafka lets this one move to (`TransactionState.validPreviousStates`, turned around).
    public var validNextStates: Set<TransactionState> {
        switch self {
        case .empty: [.empty, .ongoing, .prepareEpochFence, .dead]
        case .ongoing: [.ongoing, .prepareCommit, .prepareAbort, .prepareEpochFence]
        case .prepareCommit: [.completeCommit]
        case .prepareAbort: [.completeAbort]
        case .completeCommit, .completeAbort: [.empty, .ongoing, .prepareEpochFence, .dead]
        case .prepareEpochFence: [.prepareAbort]
        case .dead: []
        }
    }

    /// True while markers are being written: new requests get CONCURRENT_TRANSACTIONS.
    public var isCompleting: Bool { self == .prepareCommit || self == .prepareAbort || self == .prepareEpochFence }
}

/// A partition in a transaction.
public struct TransactionPartition: Hashable, Comparable, Sendable, CustomStringConvertible {
    public var topic: String
    public var partition: Int32

    public init(topic: String, partition: Int32) {
        self.topic = topic
        self.partition = partition
    }

    public static func < (lhs: Self, rhs: Self) -> Bool {
        (lhs.topic, lhs.partition) < (rhs.topic, rhs.partition)
    }

    public var description: String { "\(topic)-\(partition)" }
}

/// What the coordinator knows of one transactional id (Kafka's `TransactionMetadata`).
public struct TransactionMetadata: Hashable, Sendable {
    public var transactionalId: String
    /// The producer id in use.
    public var producerId: Int64
    /// The producer id before the last one, when the epoch ran out (KIP-360), else -1.
    public var previousProducerId: Int64 = -1
    /// The producer id a transaction ending with exhausted epochs moves to once complete
    /// (transactions V2), else -1.
    public var nextProducerId: Int64 = -1
    /// The current epoch.
    public var producerEpoch: Int16
    /// The epoch before the last bump, so a producer retrying InitProducerId is recognised; -1 if none.
    public var lastProducerEpoch: Int16 = -1
    public var transactionTimeoutMs: Int32
    public var state: TransactionState
    /// The partitions of the running transaction, `__consumer_offsets` ones included.
    public var partitions: Set<TransactionPartition> = []
    /// When the running transaction started (its first AddPartitions), or -1.
    public var transactionStartTimestamp: Int64 = -1
    public var lastUpdateTimestamp: Int64

    public init(
        transactionalId: String, producerId: Int64, producerEpoch: Int16, transactionTimeoutMs: Int32, state: TransactionState,
        lastUpdateTimestamp: Int64
    ) {
        self.transactionalId = transactionalId
        self.producerId = producerId
        self.producerEpoch = producerEpoch
        self.transactionTimeoutMs = transactionTimeoutMs
        self.state = state
        self.lastUpdateTimestamp = lastUpdateTimestamp
    }

    /// When a running transaction times out, or nil when none runs.
    public var timeoutDeadline: Int64? {
        state == .ongoing ? transactionStartTimestamp + Int64(transactionTimeoutMs) : nil
    }
}
