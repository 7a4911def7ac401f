import SamsaStorage

/// Everything a broker is configured with. Defaults are those of `samsa serve` with no flags.
public struct BrokerConfiguration: Sendable {
    /// This broker's node id in Metadata responses.
    public var nodeID: Int32 = 1
    /// `listeners`: where the broker listens, each with its security protocol. The first is
    /// the one `listen` and `advertise` set.
    public var listeners: [ListenerConfiguration] = [ListenerConfiguration(name: "PLAINTEXT", host: "127.0.0.1", port: 9092)]
    /// TLS, SASL and the protocol of each listener name.
    public var security = SecurityConfiguration()
    /// Where logs and metadata live.
    public var dataDirectory: String = "./samsa-data"
    /// `auto.create.topics.enable`: Metadata and Produce for an unknown topic create it.
    public var autoCreateTopics: Bool = true
    /// `num.partitions`: partitions of an auto-created topic, or of a created one that asks for -1.
    public var defaultPartitionCount: Int32 = 1
    /// `socket.request.max.bytes`: the largest request frame.
    public var maxFrameBytes: Int = 100 * 1024 * 1024
    /// `max.connections` and `max.connections.per.ip`, across all listeners.
    public var maxConnections: Int = .max
    public var maxConnectionsPerIP: Int = .max
    /// `connections.max.idle.ms`: connections without traffic this long are closed; 0 never.
    public var connectionsMaxIdleMilliseconds: Int64 = 600_000
    /// A request frame must arrive whole within this of its first byte; 0 never.
    public var requestArrivalTimeoutMilliseconds: Int64 = 30_000
    /// The most bytes of requests one connection holds started and not yet answered.
    public var connectionQueuedMaxRequestBytes: Int = 16 * 1024 * 1024
    /// The TCP congestion control of loopback connections whose system default paces its
    /// sends (BBR); nil keeps the system's.
    public var loopbackCongestionControl: String? = "cubic"
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

    /// The address the first listener binds.
    public var listenHost: String {
        get { listeners[0].host }
        set { listeners[0].host = newValue }
    }
    public var listenPort: Int {
        get { listeners[0].port }
        set { listeners[0].port = newValue }
    }
    /// The address the first listener's clients are told to connect to; defaults to the
    /// listen address (with the real port when listening on port 0).
    public var advertisedHost: String? {
        get { listeners[0].advertisedHost }
        set { listeners[0].advertisedHost = newValue }
    }
    public var advertisedPort: Int? {
        get { listeners[0].advertisedPort }
        set { listeners[0].advertisedPort = newValue }
    }

    /// The host clients of the first listener should use.
    public var effectiveAdvertisedHost: String { advertisedHost ?? listenHost }

    /// The security protocol of each listener, or why the listeners cannot start: a name
    /// without a protocol, a TLS listener without a certificate, a SASL listener without
    /// mechanisms. Checked before anything listens, so a wrong setting never serves plaintext.
    public func resolvedListeners() throws(ConfigurationError) -> [(listener: ListenerConfiguration, securityProtocol: SecurityProtocol)] {
        var names: Set<String> = []
        return try listeners.map { listener throws(ConfigurationError) in
            guard names.insert(listener.name).inserted else {
                throw ConfigurationError("listeners: \(listener.name) is named twice")
            }
            guard let securityProtocol = security.securityProtocol(ofListener: listener.name) else {
                throw ConfigurationError(
                    "listeners: \(listener.name) is not a security protocol; map it in listener.security.protocol.map (e.g. \(listener.name):SASL_SSL)"
                )
            }
            if securityProtocol.usesTLS, security.tls.certificateChainPath == nil {
                throw ConfigurationError(
                    "listener \(listener.name) uses TLS: set ssl.keystore.location to the broker's PEM certificate and key")
            }
            if securityProtocol.usesSASL, security.sasl.enabledMechanisms.isEmpty {
                throw ConfigurationError("listener \(listener.name) uses SASL: sasl.enabled.mechanisms is empty")
            }
            return (listener, securityProtocol)
        }
    }
}
