import SamsaStorage

/// Everything a broker is configured with. Defaults are those of `samsa serve` with no flags.
public struct BrokerConfiguration: Sendable {
    /// This broker's node id in Metadata responses.
    public var nodeID: Int32 = 1
    /// The address to listen on.
    public var listenHost: String = "127.0.0.1"
    public var listenPort: Int = 9092
    /// The address clients are told to connect to; defaults to the listen address (with the
    /// real port when listening on port 0).
    public var advertisedHost: String?
    public var advertisedPort: Int?
    /// Where logs and metadata live.
    public var dataDirectory: String = "./samsa-data"
    /// `auto.create.topics.enable`: Metadata and Produce for an unknown topic create it.
    public var autoCreateTopics: Bool = true
    /// `num.partitions`: partitions of an auto-created topic, or of a created one that asks for -1.
    public var defaultPartitionCount: Int32 = 1
    /// `socket.request.max.bytes`: the largest request frame.
    public var maxFrameBytes: Int = 100 * 1024 * 1024
    /// Broker-wide defaults of the topic configs (`log.retention.ms` and friends).
    public var logDefaults: LogConfig = LogConfig()
    /// How often retention, compaction, interval flushes and checkpoints run.
    public var maintenanceInterval: Duration = .seconds(30)
    /// Threads for blocking disk work (appends waiting on group commit hold one each).
    public var blockingThreadCount: Int = 16
    /// The group coordinator's settings (`group.*`, `offsets.*`).
    public var groups = GroupCoordinatorConfiguration()
    /// The transaction coordinator's settings (`transaction.*`, `transactional.id.*`).
    public var transactions = TransactionCoordinatorConfiguration()
    /// `producer.id.expiration.ms`: a producer's sequence state on a partition is forgotten
    /// this long after its last append there.
    public var producerIdExpirationMilliseconds: Int64 = 86_400_000
    /// After a restart, a partition's producer state is rebuilt from the batches of this many
    /// milliseconds (by timestamp) at the end of its log; longer than any producer's
    /// `delivery.timeout.ms`, so retried duplicates are still recognised.
    public var producerStateRecoveryWindowMilliseconds: Int64 = 15 * 60_000
    /// `transaction.max.timeout.ms`: the longest transaction timeout InitProducerId accepts.
    public var transactionMaxTimeoutMilliseconds: Int64 = 900_000

    public init() {}

    /// The host clients should use.
    public var effectiveAdvertisedHost: String { advertisedHost ?? listenHost }
}
