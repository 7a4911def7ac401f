import ArgumentParser
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Logging
import SamsaBroker
import ServiceLifecycle
import NIOCore
import SamsaStorage
import UnixSignals

/// `samsa serve`: runs the broker until SIGINT or SIGTERM.
struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Run a Kafka-compatible broker.",
        discussion: """
            With no options, listens on 127.0.0.1:9092 and keeps data in ./samsa-data. Any Kafka \
            client (kcat, confluent-kafka, kafka-python, KafkaJS, Java...) can then connect.

            Secured listeners, with SCRAM users and mTLS:
              samsa serve --listeners PLAINTEXT://127.0.0.1:9092,SASL_SSL://:9093 \\
                --tls-cert broker.pem --tls-key broker.key --user admin:admin-secret
              samsa serve --listeners SSL://:9094 --tls-cert broker.pem --tls-ca ca.pem --client-auth required

            Settings come from the defaults, then the --config file, then --set and the other \
            options, later ones winning. A configuration file holds `key = value` lines; the keys:

            \(BrokerConfiguration.propertyDocumentation.map { "  \($0.key): \($0.meaning)" }.joined(separator: "\n"))
            """
    )

    @Option(help: ArgumentHelp("Address to listen on.", valueName: "host:port"))
    var listen: String?

    @Option(help: ArgumentHelp("Address clients are told to connect to (default: the listen address).", valueName: "host:port"))
    var advertise: String?

    @Option(help: ArgumentHelp("Listeners, each with its security protocol (listeners).", valueName: "NAME://host:port,..."))
    var listeners: String?

    @Option(
        name: .customLong("advertised-listeners"),
        help: ArgumentHelp("What clients of each listener connect to (advertised.listeners).", valueName: "NAME://host:port,..."))
    var advertisedListeners: String?

    @Option(
        name: .customLong("tls-cert"),
        help: ArgumentHelp("PEM certificate chain for SSL listeners (ssl.keystore.location).", valueName: "file"))
    var tlsCertificate: String?

    @Option(
        name: .customLong("tls-key"), help: ArgumentHelp("PEM private key, if not in --tls-cert (ssl.key.location).", valueName: "file"))
    var tlsKey: String?

    @Option(name: .customLong("tls-ca"), help: ArgumentHelp("PEM CAs of client certificates (ssl.truststore.location).", valueName: "file"))
    var tlsCA: String?

    @Option(name: .customLong("client-auth"), help: ArgumentHelp("mTLS: none, requested or required (ssl.client.auth).", valueName: "mode"))
    var clientAuth: String?

    @Option(
        name: .customLong("user"),
        help: ArgumentHelp("A SASL user created at start if it has none yet (repeatable; sasl.users).", valueName: "name:password"))
    var users: [String] = []

    @Option(name: .customLong("data-dir"), help: ArgumentHelp("Directory for logs and metadata.", valueName: "path"))
    var dataDirectory: String?

    @Option(name: .customLong("config"), help: ArgumentHelp("A configuration file of `key = value` lines.", valueName: "file"))
    var configurationFile: String?

    @Option(name: .customLong("set"), help: ArgumentHelp("Set one configuration key (repeatable).", valueName: "key=value"))
    var settings: [String] = []

    @Option(name: .customLong("partitions"), help: "Partitions of auto-created topics (num.partitions).")
    var defaultPartitions: Int?

    @Flag(inversion: .prefixedNo, help: "Create unknown topics when clients ask for their metadata.")
    var autoCreateTopics: Bool?

    @Option(name: .customLong("flush"), help: ArgumentHelp("When to fsync: group-commit, interval or none.", valueName: "policy"))
    var flushPolicy: String?

    @Option(help: ArgumentHelp("Log level: trace, debug, info, notice, warning, error.", valueName: "level"))
    var logLevel: String = "info"

    func run() async throws {
        guard let level = Logger.Level(rawValue: logLevel) else {
            throw ValidationError("--log-level: expected trace, debug, info, notice, warning or error")
        }
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
        let logger = Logger(label: "samsa")
        let configuration = try makeConfiguration()

        let started = ContinuousClock.now
        let broker: Broker
        do {
            broker = try Broker(configuration: configuration, logger: logger)
        } catch {
            throw ValidationError("cannot open the data directory \(configuration.dataDirectory): \(error)")
        }
        let loadTime = ContinuousClock.now - started
        let servers: [(listener: String, server: KafkaServer)]
        do {
            servers = try broker.makeServers(logger: logger)
        } catch {
            throw ValidationError(error.description)
        }
        let group = ServiceGroup(
            configuration: .init(
                services: [.init(service: broker)] + servers.map { .init(service: $0.server) },
                gracefulShutdownSignals: [.sigterm, .sigint],
                logger: logger)
        )
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await group.run() }
            tasks.addTask {
                var listening: [String] = []
                for (listener, server) in servers {
                    let address = try await server.boundAddress
                    broker.serverBound(listener: listener, to: address)
                    let advertised = broker.core.advertisedEndpoint(listener: listener)
                    listening.append(
                        "\(listener)://\(address.ipAddress ?? "?"):\(address.port ?? 0) (advertised \(advertised.host):\(advertised.port))")
                }
                let image = broker.core.topics.image
                let partitionCount = image.topics.reduce(0) { $0 + Int($1.partitionCount) }
                logger.info(
                    "Samsa \(SamsaVersion.current) is ready",
                    metadata: [
                        "listeners": "\(listening.joined(separator: ", "))",
                        "dataDirectory": "\(configuration.dataDirectory)",
                        "topics": "\(image.topics.count)",
                        "partitions": "\(partitionCount)",
                        "cleanShutdown": "\(broker.core.logs.hadCleanShutdown)",
                        "loadTime": "\(loadTime.components.seconds * 1000 + loadTime.components.attoseconds / 1_000_000_000_000_000) ms",
                    ])
            }
            try await tasks.waitForAll()
        }
    }

    private func makeConfiguration() throws -> BrokerConfiguration {
        var configuration = BrokerConfiguration()
        var pairs: [(key: String, value: String)] = []
        if let path = configurationFile {
            guard let data = FileManager.default.contents(atPath: path) else {
                throw ValidationError("--config: cannot read \(path)")
            }
            pairs += try BrokerConfiguration.parseProperties(String(decoding: data, as: UTF8.self), source: path)
        }
        for setting in settings {
            guard let equals = setting.firstIndex(of: "=") else {
                throw ValidationError("--set: expected key=value, got `\(setting)`")
            }
            pairs.append((String(setting[..<equals]), String(setting[setting.index(after: equals)...])))
        }
        if let listeners { pairs.append(("listeners", listeners)) }
        if let listen { pairs.append(("listen", listen)) }
        if let advertisedListeners { pairs.append(("advertised.listeners", advertisedListeners)) }
        if let tlsCertificate { pairs.append(("ssl.keystore.location", tlsCertificate)) }
        if let tlsKey { pairs.append(("ssl.key.location", tlsKey)) }
        if let tlsCA { pairs.append(("ssl.truststore.location", tlsCA)) }
        if let clientAuth { pairs.append(("ssl.client.auth", clientAuth)) }
        if !users.isEmpty { pairs.append(("sasl.users", users.joined(separator: ","))) }
        if let advertise { pairs.append(("advertise", advertise)) }
        if let dataDirectory { pairs.append(("data.dir", dataDirectory)) }
        if let defaultPartitions { pairs.append(("num.partitions", String(defaultPartitions))) }
        if let autoCreateTopics { pairs.append(("auto.create.topics.enable", String(autoCreateTopics))) }
        if let flushPolicy { pairs.append(("log.flush.policy", flushPolicy)) }
        for (key, value) in pairs {
            do {
                try configuration.apply(key: key, value: value)
            } catch {
                throw ValidationError(error.description)
            }
        }
        return configuration
    }
}
