import Foundation
import NIOCore
import SamsaProtocol
import Testing

@testable import SamsaBroker

/// Produce throughput through a real broker and socket, run only on demand:
/// `SAMSA_PRODUCE_BENCH=1 swift test -c release -Xswiftc -enable-testing --filter ProduceThroughput`.
@Suite("ProduceThroughput", .serialized, .enabled(if: ProcessInfo.processInfo.environment["SAMSA_PRODUCE_BENCH"] == "1"))
struct ProduceThroughputTests {
    /// Each connection keeps `window` requests in flight, each one 16 KiB batch.
    @Test("16 KiB batches, acks=1 and acks=-1, 1 and 4 connections", arguments: [(Int16(1), 1), (Int16(1), 4), (Int16(-1), 1), (Int16(-1), 4)])
    func throughput(acks: Int16, connections: Int) async throws {
        let batchesPerConnection = 4000 / connections
        let window = 8
        // 16 records of 1000-byte values: about 16 KiB per batch.
        let batch = try ProduceFixtures.batch(count: 16, valueSize: 1000)
        try await withProduceTestDirectory { directory in
            try await withProduceTestBroker(dataDirectory: directory) { broker, address in
                try await ProduceFixtures.createTopic(broker, "bench")
                let request = ProduceFixtures.request(acks: acks, [("bench", 0, batch)])
                let started = ContinuousClock.now
                let errors = try await withThrowingTaskGroup(of: Int.self) { group in
                    for _ in 0..<connections {
                        group.addTask {
                            try await ProduceTestConnection.with(address) { connection in
                                var errors = 0
                                var inFlight: [Int32] = []
                                var sent = 0
                                while sent < batchesPerConnection || !inFlight.isEmpty {
                                    while sent < batchesPerConnection && inFlight.count < window {
                                        inFlight.append(try await connection.send(request, version: 9))
                                        sent += 1
                                    }
                                    let response = try await connection.receive(ProduceResponse.self, version: 9, correlationId: inFlight.removeFirst())
                                    if response.responses[0].partitionResponses[0].errorCode != 0 { errors += 1 }
                                }
                                return errors
                            }
                        }
                    }
                    return try await group.reduce(0, +)
                }
                let elapsed = ContinuousClock.now - started
                let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
                let batches = batchesPerConnection * connections
                let megabytes = Double(batches * batch.readableBytes) / 1_048_576
                print(String(
                    format: "produce acks=%d connections=%d: %d batches of %d bytes in %.2f s: %.1f MiB/s, %.0f batches/s",
                    Int(acks), connections, batches, batch.readableBytes, seconds, megabytes / seconds, Double(batches) / seconds))
                #expect(errors == 0)
                #expect(broker.core.logs.log(for: .init(topic: "bench", partition: 0))?.logEndOffset == Int64(batches * 16))
            }
        }
    }
}
