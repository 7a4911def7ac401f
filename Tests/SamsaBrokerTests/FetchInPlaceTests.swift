import NIOCore
import SamsaProtocol
import SamsaStorage
import SamsaTesting
import Testing

@testable import SamsaBroker

/// A fetch reads on the connection's event loop when the batch headers it looks at are in the
/// page cache, and on the blocking pool only when they are not (``FetchReader/readIfCached()``).
@Suite("Fetch reads in place")
struct FetchInPlaceTests {
    typealias Fixtures = ProduceFixtures

    /// The values a fetch of `topic` from offset 0 returns, over `connection`.
    private func fetchedValues(_ broker: Broker, _ topic: String, over connection: ProduceTestConnection) async throws -> [String] {
        let metadata = try #require(broker.core.topics.image.topic(named: topic))
        let response = try await connection.request(makeFetch(metadata, [(0, 0)]), version: 12)
        let partition = try #require(response.responses.first?.partitions.first)
        #expect(partition.errorCode == 0)
        return try TestBatches.decode(partition.records).map(\.value)
    }

    /// With a blocking pool of one thread, held by an fsync at a closed gate, a fetch of another
    /// topic is still answered: reading records just appended needed no thread of the pool.
    @Test("a fetch is answered while the only blocking thread is held", .timeLimit(.minutes(1)))
    func answeredWithoutThePool() async throws {
        try await Fixtures.whileTheOnlyBlockingThreadIsHeld { broker, address in
            try await ProduceTestConnection.with(address) { other in
                for round in 0..<2 {
                    let produced = try await other.request(
                        Fixtures.request(acks: 1, [("fast", 0, try Fixtures.batch(count: 2, prefix: "f\(round)"))]), version: 9)
                    #expect(produced.responses[0].partitionResponses[0].errorCode == 0)
                }
                #expect(try await fetchedValues(broker, "fast", over: other) == ["f0-0", "f0-1", "f1-0", "f1-1"])
            }
        }
    }

    /// When the segment's pages are not in memory, the fetch gives up its read in place and
    /// reads on the blocking pool instead: same answer, and the event loop never waited.
    @Test("a fetch of bytes not in memory reads on the blocking pool", arguments: [false, true])
    func readsMissingTheCache(missing: Bool) async throws {
        let gated = GatedFileSystem(pathContaining: "events-0/")
        let directory = TestDataDirectory(path: "/samsa-data", fileSystem: gated, clock: ManualClock(), memory: gated.base)
        try await withProduceTestBroker(dataDirectory: directory) { broker, address in
            try await Fixtures.createTopic(broker, "events")
            try await ProduceTestConnection.with(address) { connection in
                for round in 0..<3 {
                    let produced = try await connection.request(
                        Fixtures.request(acks: 1, [("events", 0, try Fixtures.batch(count: 2, prefix: "e\(round)"))]), version: 9)
                    #expect(produced.responses[0].partitionResponses[0].errorCode == 0)
                }
                gated.missesCache = missing
                let before = gated.current
                #expect(try await fetchedValues(broker, "events", over: connection) == ["e0-0", "e0-1", "e1-0", "e1-1", "e2-0", "e2-1"])
                let after = gated.current
                if missing {
                    #expect(after.cacheMisses > before.cacheMisses, "the read in place was tried and missed")
                    #expect(after.cachedReads == before.cachedReads)
                } else {
                    #expect(after.cachedReads > before.cachedReads)
                    #expect(after.cacheMisses == before.cacheMisses)
                }
            }
        }
    }
}
