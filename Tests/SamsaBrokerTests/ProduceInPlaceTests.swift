import NIOCore
import SamsaProtocol
import SamsaStorage
import SamsaTesting
import Testing

@testable import SamsaBroker

/// Small produce requests append on the connection's event loop, without a hop to the blocking
/// pool, when their appends cannot block (``ProduceHandler/inlineAppendBytes``).
@Suite("Produce appends in place")
struct ProduceInPlaceTests {
    typealias Fixtures = ProduceFixtures

    /// With a blocking pool of one thread, held by an fsync at a closed gate, a small acks=1
    /// request to another topic is still appended and answered: it never needed the pool. The
    /// held acks=-1 request is answered once the gate opens.
    @Test("a small produce is answered while the only blocking thread is held", .timeLimit(.minutes(1)))
    func answeredWithoutThePool() async throws {
        try await Fixtures.whileTheOnlyBlockingThreadIsHeld { _, address in
            try await ProduceTestConnection.with(address) { other in
                for round in 0..<3 {
                    let response = try await other.request(
                        Fixtures.request(acks: 1, [("fast", 0, try Fixtures.batch(count: 2, prefix: "f\(round)"))]), version: 9)
                    let partition = response.responses[0].partitionResponses[0]
                    #expect(partition.errorCode == 0)
                    #expect(partition.baseOffset == Int64(2 * round))
                }
            }
        } afterwards: { broker in
            let stored = try await Fixtures.storedValues(broker, "fast")
            #expect(stored == ["f0-0", "f0-1", "f1-0", "f1-1", "f2-0", "f2-1"])
        }
    }

    /// Which appends may run in place: not those to a log that fsyncs in the append
    /// (`flush.messages`), nor an idempotent batch before its partition's producer state is
    /// loaded (the load reads the log); a plain batch, and an idempotent one once the state is
    /// loaded, may.
    @Test("appends that could block are kept off the event loop")
    func appendsThatCouldBlock() async throws {
        try await withProduceTestDirectory { directory in
            try await withProduceTestBroker(dataDirectory: directory) { broker, _ in
                try await Fixtures.createTopic(broker, "plain")
                try await Fixtures.createTopic(broker, "interval", configs: ["flush.messages": "10"])
                let core = broker.core
                let appender = ProduceAppender(core: core, version: 9, waitForFlush: false, allowInternalTopics: false)
                func pending(_ topic: String, _ records: ByteBuffer) throws -> ProduceHandler.PendingAppend {
                    let partition = TopicPartition(topic: topic, partition: 0)
                    let log = try #require(core.logs.log(for: partition))
                    let inspected = try BatchInspection.single(records, version: 9).get()
                    return .init(
                        position: .init(topic: 0, partition: 0), partition: partition, log: log, batch: inspected.batch,
                        header: inspected.header)
                }
                #expect(appender.appendsWithoutBlocking(try pending("plain", try Fixtures.batch())))
                #expect(!appender.appendsWithoutBlocking(try pending("interval", try Fixtures.batch())))

                let first = try pending("plain", try Fixtures.batch(count: 1, producerId: 7, epoch: 0, sequence: 0))
                #expect(!appender.appendsWithoutBlocking(first), "the producer state of plain-0 is not loaded yet")
                let appended = try await core.blocking.run { appender.append(first) }
                #expect((try? appended.get()) != nil)
                let second = try pending("plain", try Fixtures.batch(count: 1, producerId: 7, epoch: 0, sequence: 1))
                #expect(appender.appendsWithoutBlocking(second))
            }
        }
    }
}
