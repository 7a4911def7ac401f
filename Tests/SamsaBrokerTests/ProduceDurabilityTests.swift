import NIOCore
import NIOPosix
import SamsaProtocol
import SamsaStorage
import SamsaTesting
import Testing

@testable import SamsaBroker

@Suite("Produce durability")
struct ProduceDurabilityTests {
    typealias Fixtures = ProduceFixtures

    /// acks=-1 requests waiting for a fsync hold no thread of the blocking pool: with two
    /// threads and one fsync held at a gate, two more acks=-1 requests still append (and share
    /// the next fsync) and another topic's acks=1 request is answered while the gate is closed.
    @Test("requests waiting for a fsync leave the blocking pool free", .timeLimit(.minutes(1)))
    func waitersHoldNoThreads() async throws {
        try await Fixtures.withSlowAndFastTopics(blockingThreads: 2) { broker, address, gated in
            let log = try #require(broker.core.logs.log(for: TopicPartition(topic: "slow", partition: 0)))
            let before = gated.current
            gated.closeGate()
            try await ProduceTestConnection.with(address) { first in
                try await ProduceTestConnection.with(address) { second in
                    try await ProduceTestConnection.with(address) { third in
                        var sent: [(ProduceTestConnection, Int32)] = []
                        for (index, connection) in [first, second, third].enumerated() {
                            let request = Fixtures.request(acks: -1, [("slow", 0, try Fixtures.batch(count: 1, prefix: "s\(index)"))])
                            sent.append((connection, try await connection.send(request, version: 9)))
                            if index == 0 { try await gated.reaches { $0.heldSyncs == 1 } }
                        }
                        // All three are appended while the first fsync is held.
                        try await gated.reaches { $0.writes == before.writes + 3 }
                        try await ProduceTestConnection.with(address) { other in
                            let response = try await other.request(
                                Fixtures.request(acks: 1, [("fast", 0, try Fixtures.batch(count: 2))]), version: 9)
                            #expect(response.responses[0].partitionResponses[0].errorCode == 0)
                        }
                        #expect(log.recoveryPoint == 0, "nothing of slow-0 is durable while the gate is closed")
                        gated.openGate()
                        for (connection, correlationId) in sent {
                            let response = try await connection.receive(ProduceResponse.self, version: 9, correlationId: correlationId)
                            #expect(response.responses[0].partitionResponses[0].errorCode == 0)
                        }
                        #expect(log.recoveryPoint == 3)
                        #expect(gated.current.syncs - before.syncs == 2, "the two later requests share one fsync")
                    }
                }
            }
        }
    }

    /// One connection of small acks=-1 requests, as librdkafka sends them without idempotence
    /// and with linger.ms 0 (about one request per record): while a fsync is held, every later
    /// request is still read and appended, far more than 16, and they share the next fsync.
    @Test("one connection keeps many durable produce requests in flight", .timeLimit(.minutes(1)))
    func manyRequestsInFlight() async throws {
        let count = 100
        try await Fixtures.withSlowAndFastTopics(blockingThreads: 2) { broker, address, gated in
            let log = try #require(broker.core.logs.log(for: TopicPartition(topic: "slow", partition: 0)))
            let before = gated.current
            gated.closeGate()
            try await ProduceTestConnection.with(address) { connection in
                var sent: [Int32] = []
                for index in 0..<count {
                    let request = Fixtures.request(acks: -1, [("slow", 0, try Fixtures.batch(count: 1, prefix: "r\(index)"))])
                    sent.append(try await connection.send(request, version: 9))
                    if index == 0 { try await gated.reaches { $0.heldSyncs == 1 } }
                }
                // All of them are appended while the first one's fsync is held.
                try await gated.reaches { $0.writes == before.writes + count }
                #expect(log.recoveryPoint == 0)
                gated.openGate()
                for (index, correlationId) in sent.enumerated() {
                    let response = try await connection.receive(ProduceResponse.self, version: 9, correlationId: correlationId)
                    #expect(response.responses[0].partitionResponses[0].errorCode == 0)
                    #expect(response.responses[0].partitionResponses[0].baseOffset == Int64(index))
                }
                #expect(log.recoveryPoint == Int64(count))
                #expect(gated.current.syncs - before.syncs == 2, "the requests after the first share one fsync")
            }
        }
    }
}
