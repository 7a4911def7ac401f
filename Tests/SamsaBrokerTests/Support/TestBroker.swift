import Foundation
import Logging
import NIOCore
import ServiceLifecycle

@testable import SamsaBroker

/// Runs `body` with a fresh temporary directory, removed afterwards.
func withTestDirectory<Result>(prefix: String = "samsa-test", _ body: (String) async throws -> Result) async throws -> Result {
    let path = FileManager.default.temporaryDirectory.appendingPathComponent("\(prefix)-\(UUID().uuidString)").path
    try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: path) }
    return try await body(path)
}

/// Runs a real broker and its server on a free loopback port over `dataDirectory` while `body`
/// runs, then shuts both down gracefully (which flushes and closes the logs), so that another
/// broker can open the same directory afterwards. Every broker test starts brokers this way.
func withTestBroker<Result>(
    dataDirectory: String, configure: (inout BrokerConfiguration) -> Void = { _ in },
    _ body: (Broker, SocketAddress) async throws -> Result
) async throws -> Result {
    var configuration = BrokerConfiguration()
    configuration.dataDirectory = dataDirectory
    configuration.listenPort = 0
    configuration.blockingThreadCount = 8
    configure(&configuration)
    var logger = Logger(label: "test")
    logger.logLevel = .warning
    let broker = try Broker(configuration: configuration, logger: logger)
    let server = KafkaServer(
        configuration: .init(host: "127.0.0.1", port: 0, maxFrameBytes: configuration.maxFrameBytes),
        processor: broker, logger: logger
    )
    let group = ServiceGroup(services: [broker, server], logger: logger)
    return try await withThrowingTaskGroup(of: Void.self) { tasks in
        tasks.addTask { try await group.run() }
        do {
            let address = try await server.boundAddress
            broker.serverBound(to: address)
            let result = try await body(broker, address)
            await group.triggerGracefulShutdown()
            try await tasks.waitForAll()
            return result
        } catch {
            await group.triggerGracefulShutdown()
            try? await tasks.waitForAll()
            throw error
        }
    }
}

/// Polls `condition` every 25 ms until it holds or `limit` passes; returns whether it held.
/// Tests wait for asynchronous outcomes (a fetch parked, a session expired) this way instead
/// of sleeping a fixed time, so a loaded machine slows them down without failing them.
func testEventually(within limit: Duration = .seconds(15), _ condition: () async throws -> Bool) async throws -> Bool {
    let deadline = ContinuousClock.now + limit
    while ContinuousClock.now < deadline {
        if try await condition() { return true }
        try await Task.sleep(for: .milliseconds(25))
    }
    return try await condition()
}
