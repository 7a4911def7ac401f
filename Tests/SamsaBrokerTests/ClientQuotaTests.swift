import NIOCore
import SamsaProtocol
import SamsaTesting
import Testing

@testable import SamsaBroker

@Suite("Client quotas")
struct ClientQuotaTests {
    private func withQuotaBroker<Result: Sendable>(
        _ directory: TestDataDirectory = .inMemory(), _ body: (Broker) async throws -> Result
    ) async throws -> Result {
        try await withTestBroker(dataDirectory: directory) { broker, _ in try await body(broker) }
    }

    private func alter(
        _ broker: Broker, _ entity: [(String, String?)], _ ops: [(String, Double, Bool)], validateOnly: Bool = false
    ) async throws
        -> AlterClientQuotasResponse
    {
        var request = AlterClientQuotasRequest()
        var entry = AlterClientQuotasRequest.EntryData()
        entry.entity = entity.map { type, name in
            var data = AlterClientQuotasRequest.EntityData()
            data.entityType = type
            data.entityName = name
            return data
        }
        entry.ops = ops.map { key, value, remove in
            var op = AlterClientQuotasRequest.OpData()
            op.key = key
            op.value = value
            op.remove = remove
            return op
        }
        request.entries = [entry]
        request.validateOnly = validateOnly
        let context = RequestContext(
            header: RequestHeader(apiKey: .alterClientQuotas, apiVersion: 1, correlationId: 1, clientId: "quota-test"),
            connection: ConnectionContext(connectionID: 1, remoteAddress: nil, allocator: ByteBufferAllocator()))
        return try await AlterClientQuotasHandler(core: broker.core).handle(request, context: context)!
    }

    @Test("a producer that waits its throttle times converges to its quota within 10 %")
    func convergence() async throws {
        try await withQuotaBroker { broker in
            let quota = 100_000.0
            let altered = try await alter(broker, [("user", "alice")], [(ClientQuotaEntity.producerByteRate, quota, false)])
            #expect(altered.entries[0].errorCode == 0)
            // A client sending 10 KB requests back to back (1 ms each), waiting whatever it is told.
            var now: Int64 = 1_000_000
            var sentAfterWarmUp = 0
            let warmUpEnd = now + 30_000
            var throttled = 0
            while now < warmUpEnd + 60_000 {
                let wait = broker.core.quotas.record(.produce, bytes: 10_000, user: "alice", clientId: "app", now: now)
                if now >= warmUpEnd { sentAfterWarmUp += 10_000 }
                if wait > 0 { throttled += 1 }
                now += 1 + wait
            }
            let rate = Double(sentAfterWarmUp) / 60
            print("quota convergence: \(Int(rate)) B/s against \(Int(quota)) B/s, \(throttled) throttled requests")
            #expect(throttled > 0)
            #expect(abs(rate - quota) / quota <= 0.10, "rate \(rate) B/s against a quota of \(quota)")
            // Another user has no quota; bob's client-id default does not apply to alice's own quota.
            #expect(broker.core.quotas.record(.produce, bytes: 10_000_000, user: "bob", clientId: "app", now: now) == 0)
        }
    }

    @Test("the most specific entity's quota applies, in Kafka's order")
    func precedence() async throws {
        try await withQuotaBroker { broker in
            _ = try await alter(broker, [("client-id", nil)], [(ClientQuotaEntity.consumerByteRate, 1_000, false)])
            _ = try await alter(broker, [("user", "alice"), ("client-id", "fast")], [(ClientQuotaEntity.consumerByteRate, 1e12, false)])
            let quotas = broker.core.quotas
            #expect(quotas.record(.fetch, bytes: 1_000_000, user: "alice", clientId: "fast", now: 0) == 0)
            #expect(quotas.record(.fetch, bytes: 1_000_000, user: "alice", clientId: "slow", now: 0) > 0, "the client-id default applies")
            #expect(quotas.record(.produce, bytes: 1_000_000, user: "alice", clientId: "slow", now: 0) == 0, "no producer quota")
        }
    }

    @Test("quotas are described, validated, removed and kept across a restart")
    func adminAndDurability() async throws {
        let directory = TestDataDirectory.inMemory()
        try await withQuotaBroker(directory) { broker in
            let refusals = [
                try await alter(broker, [("user", "alice")], [("request_percentage", 10, false)]),
                try await alter(broker, [("ip", "1.2.3.4")], [(ClientQuotaEntity.producerByteRate, 10, false)]),
                try await alter(broker, [("user", "alice")], [(ClientQuotaEntity.producerByteRate, -5, false)]),
            ]
            #expect(refusals.map { $0.entries[0].errorCode } == Array(repeating: ErrorCode.invalidRequest.rawValue, count: 3))
            _ = try await alter(broker, [("user", "carol")], [(ClientQuotaEntity.producerByteRate, 5, false)], validateOnly: true)
            _ = try await alter(
                broker, [("user", "alice")],
                [(ClientQuotaEntity.producerByteRate, 2048, false), (ClientQuotaEntity.consumerByteRate, 4096, false)])
            _ = try await alter(broker, [("user", "alice")], [(ClientQuotaEntity.consumerByteRate, 0, true)])
        }
        try await withQuotaBroker(directory) { broker in
            let quotas = broker.core.topics.image.clientQuotas
            #expect(quotas == [ClientQuotaEntity(user: .named("alice")): [ClientQuotaEntity.producerByteRate: 2048]])
            var request = DescribeClientQuotasRequest()
            var component = DescribeClientQuotasRequest.ComponentData()
            component.entityType = "user"
            component.matchType = 0
            component.match = "alice"
            request.components = [component]
            let context = RequestContext(
                header: RequestHeader(apiKey: .describeClientQuotas, apiVersion: 1, correlationId: 1, clientId: "quota-test"),
                connection: ConnectionContext(connectionID: 1, remoteAddress: nil, allocator: ByteBufferAllocator()))
            let described = try await DescribeClientQuotasHandler(core: broker.core).handle(request, context: context)!
            #expect(described.entries?.count == 1)
            #expect(described.entries?.first?.values.map(\.key) == [ClientQuotaEntity.producerByteRate])
            #expect(described.entries?.first?.entity.map(\.entityName) == ["alice"])
        }
    }
}
