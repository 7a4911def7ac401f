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
    /// The port actually listened on, known once the server is bound (port 0 in tests).
    let boundPort: PortBox

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
        self.boundPort = PortBox(configuration.listenPort)
    }

    /// The host and port clients are told to connect to.
    package var advertisedEndpoint: (host: String, port: Int32) {
        (configuration.effectiveAdvertisedHost, Int32(configuration.advertisedPort ?? boundPort.value))
    }

    /// The log configuration of `topic`: broker defaults overridden by the topic's configs.
    package func logConfig(for topic: String) -> LogConfig {
        let overrides = topics.image.topic(named: topic)?.configs ?? [:]
        return TopicConfigs.logConfig(overrides: overrides, defaults: configuration.logDefaults)
    }
}
