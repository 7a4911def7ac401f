import Logging
import SamsaStorage

/// The state a broker's handlers share: configuration, topics, logs and the blocking-work
/// pool. Handlers hold this (not the `Broker`), so nothing refers back to the router.
package final class BrokerCore: Sendable {
    package let configuration: BrokerConfiguration
    package let topics: TopicRegistry
    package let logs: LogManager
    package let blocking: BlockingWork
    /// Producer ids for InitProducerId, never reused across restarts.
    package let producerIds: ProducerIdManager
    /// Idempotent producers' sequence state per partition.
    package let producerStates: ProducerStateManager
    /// The time every log, timer and deadline reads.
    package let clock: any BrokerClock
    /// The source of member ids, topic ids and the cluster id.
    package let random: any RandomSource
    package let logger: Logger
    /// Wakes long-poll fetches: call `appendNotifier.notifyAppended(partition)` after every
    /// successful append to a partition log.
    package let appendNotifier: AppendNotifier
    /// Incremental fetch sessions (KIP-227).
    let fetchSessions: FetchSessionCache
    /// The ports actually listened on by listener name, known once bound (port 0 in tests).
    let boundPorts: [String: PortBox]
    /// Authenticates SASL connections.
    package let authenticator: Authenticator
    /// Checks ACLs.
    package let authorizer: Authorizer
    /// Measures clients against their byte-rate quotas.
    package let quotas: QuotaManager

    init(
        configuration: BrokerConfiguration, topics: TopicRegistry, logs: LogManager, blocking: BlockingWork,
        producerIds: ProducerIdManager, fileSystem: any FileSystem, clock: any BrokerClock, random: any RandomSource,
        logger: Logger
    ) {
        self.configuration = configuration
        self.topics = topics
        self.logs = logs
        self.blocking = blocking
        self.producerIds = producerIds
        self.producerStates = ProducerStateManager(
            fileSystem: fileSystem, clock: clock, logger: logger,
            expirationMilliseconds: configuration.producerIdExpirationMilliseconds,
            recoveryWindowMilliseconds: configuration.producerStateRecoveryWindowMilliseconds)
        self.clock = clock
        self.random = random
        self.logger = logger
        self.appendNotifier = AppendNotifier(clock: clock)
        self.fetchSessions = FetchSessionCache(random: random)
        self.boundPorts = Dictionary(uniqueKeysWithValues: configuration.listeners.map { ($0.name, PortBox($0.port)) })
        self.authorizer = Authorizer(security: configuration.security, registry: topics)
        self.quotas = QuotaManager(registry: topics)
        self.authenticator = Authenticator(
            settings: configuration.security.sasl, registry: topics, clock: clock, random: random, blocking: blocking, logger: logger)
    }

    /// The port of the first listener, as bound.
    var boundPort: PortBox { boundPorts[configuration.listeners[0].name]! }

    /// The host and port clients of the first listener are told to connect to.
    package var advertisedEndpoint: (host: String, port: Int32) {
        advertisedEndpoint(listener: configuration.listeners[0].name)
    }

    /// The host and port clients of the listener `name` are told to connect to (the first
    /// listener's for an unknown name).
    package func advertisedEndpoint(listener name: String) -> (host: String, port: Int32) {
        let listener = configuration.listeners.first { $0.name == name } ?? configuration.listeners[0]
        let port = listener.advertisedPort ?? boundPorts[listener.name]?.value ?? listener.port
        return (listener.advertisedHost ?? listener.host, Int32(port))
    }

    /// The log configuration of `topic`: broker defaults overridden by the topic's configs.
    package func logConfig(for topic: String) -> LogConfig {
        let overrides = topics.image.topic(named: topic)?.configs ?? [:]
        return TopicConfigs.logConfig(overrides: overrides, defaults: configuration.logDefaults)
    }
}
