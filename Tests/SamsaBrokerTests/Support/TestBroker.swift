import Foundation
import Logging
import NIOCore
import SamsaStorage
import SamsaTesting

@testable import SamsaBroker

/// Where a test broker keeps its data, and the clock it runs on. Broker tests that are not
/// about the disk run on the in-memory file system and a manual clock: nothing in them waits
/// for real time, so a loaded machine cannot change their outcome. Pass the same value to
/// several brokers in turn to test a restart.
struct TestDataDirectory: Sendable {
    let path: String
    let fileSystem: any FileSystem
    let clock: ManualClock
    /// The in-memory file system, when the data is not on disk (for crash simulations).
    let memory: InMemoryFileSystem?

    /// A data directory in a fresh in-memory file system, with a fresh manual clock.
    static func inMemory() -> TestDataDirectory {
        let memory = InMemoryFileSystem()
        return TestDataDirectory(path: "/samsa-data", fileSystem: memory, clock: ManualClock(), memory: memory)
    }
}

/// Runs `body` with a fresh data directory: in memory by default, or a temporary directory on
/// disk (removed afterwards) for tests about files, descriptors and sendfile.
func withTestDirectory<Result>(
    prefix: String = "samsa-test", onDisk: Bool = false, _ body: (TestDataDirectory) async throws -> Result
) async throws -> Result {
    guard onDisk else { return try await body(.inMemory()) }
    let path = FileManager.default.temporaryDirectory.appendingPathComponent("\(prefix)-\(UUID().uuidString)").path
    try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: path) }
    return try await body(TestDataDirectory(path: path, fileSystem: PosixFileSystem(), clock: ManualClock(), memory: nil))
}

/// Runs a real broker and its server on a free loopback port over `dataDirectory` while `body`
/// runs (a ``SamsaTestCluster``), then shuts both down gracefully (which flushes and closes the
/// logs), so that another broker can open the same directory afterwards. Every broker test
/// starts brokers this way.
func withTestBroker<Result: Sendable>(
    dataDirectory: TestDataDirectory, configure: (inout BrokerConfiguration) -> Void = { _ in },
    _ body: (Broker, SocketAddress) async throws -> Result
) async throws -> Result {
    var options = SamsaTestCluster.Options()
    options.storage = .fileSystem(dataDirectory.fileSystem, dataDirectory: dataDirectory.path)
    options.clock = dataDirectory.clock
    options.seed = 42
    options.configuration.blockingThreadCount = 8
    configure(&options.configuration)
    return try await SamsaTestCluster.with(options) { cluster in
        try await body(cluster.broker, cluster.address)
    }
}

/// Polls `condition` every 25 ms until it holds or `limit` passes; returns whether it held.
/// Only for outcomes that follow from a request already answered but are applied on another
/// task (a parked fetch registering, a timer task running): the outcome is certain, only its
/// moment is not, so a loaded machine slows such a test down without changing its result.
func testEventually(within limit: Duration = .seconds(30), _ condition: () async throws -> Bool) async throws -> Bool {
    let deadline = ContinuousClock.now + limit
    while ContinuousClock.now < deadline {
        if try await condition() { return true }
        try await Task.sleep(for: .milliseconds(25))
    }
    return try await condition()
}
