import NIOCore
import SamsaProtocol
import SamsaStorage
import SamsaTesting
import Testing

@testable import SamsaBroker

/// Incremental fetch sessions (KIP-227): a session remembers its partitions and fetch offsets,
/// and its answers list only the partitions with news.
@Suite("Fetch sessions")
struct FetchSessionTests {
    /// `request` continuing session `id` at `epoch`.
    private func incremental(_ request: FetchRequest, id: Int32, epoch: Int32) -> FetchRequest {
        var request = request
        request.sessionId = id
        request.sessionEpoch = epoch
        return request
    }

    /// The (partition, record offsets) of each partition in `response`, in order.
    private func contents(_ response: FetchResponse) throws -> [(Int32, [Int64])] {
        try response.responses.flatMap(\.partitions).map { ($0.partitionIndex, try TestBatches.decode($0.records).map(\.offset)) }
    }

    @Test("later answers list only partitions with records or new offsets", arguments: [12, 13, 18] as [Int16])
    func answersCarryOnlyNews(version: Int16) async throws {
        try await FetchTestBroker.with { broker in
            let topic = try await broker.createTopic("news", partitions: 3)
            for partition in 0..<3 as Range<Int32> {
                try await broker.append(TestBatches.batch(count: 2), topic: "news", partition: partition)
            }
            let opening = try await broker.send(incremental(makeFetch(topic, [(0, 0), (1, 0), (2, 0)]), id: 0, epoch: 0), version: version)
            let id = opening.sessionId
            #expect(id != 0)
            #expect(try contents(opening).map(\.0) == [0, 1, 2])

            // The consumer moves its offsets past the records: nothing new, an empty answer.
            let caughtUp = try await broker.send(
                incremental(makeFetch(topic, [(0, 2), (1, 2), (2, 2)]), id: id, epoch: 1), version: version)
            #expect(caughtUp.errorCode == 0)
            #expect(caughtUp.sessionId == id)
            #expect(caughtUp.responses.isEmpty)

            // Records in partition 1 only; the request names no partition at all.
            try await broker.append(TestBatches.batch(count: 3, first: 2), topic: "news", partition: 1)
            let news = try await broker.send(incremental(makeFetch(topic, []), id: id, epoch: 2), version: version)
            let listed = try contents(news)
            #expect(listed.map(\.0) == [1])
            #expect(listed.first?.1 == [2, 3, 4])
            #expect(news.responses.first?.partitions.first?.highWatermark == 5)
            if version >= 13 { #expect(news.responses.first?.topicId == topic.id) } else { #expect(news.responses.first?.topic == "news") }

            // Asked again from the same offset, partition 1 has the same records but no new
            // offsets: records are news every time, offsets only once.
            let again = try await broker.send(incremental(makeFetch(topic, []), id: id, epoch: 3), version: version)
            #expect(try contents(again).map(\.0) == [1])
            let moved = try await broker.send(incremental(makeFetch(topic, [(1, 5)]), id: id, epoch: 4), version: version)
            #expect(moved.responses.isEmpty)
        }
    }

    @Test("a wrong epoch is INVALID_FETCH_SESSION_EPOCH and changes nothing; epoch -1 closes the session")
    func epochsAndClosing() async throws {
        try await FetchTestBroker.with { broker in
            let topic = try await broker.createTopic("epochs")
            try await broker.append(TestBatches.batch(count: 2), topic: "epochs")
            let id = try await broker.send(incremental(makeFetch(topic, [(0, 0)]), id: 0, epoch: 0), version: 12).sessionId
            #expect(id != 0)
            for wrong in [2, 7] as [Int32] {
                let refused = try await broker.send(incremental(makeFetch(topic, [(0, 2)]), id: id, epoch: wrong), version: 12)
                #expect(refused.errorCode == ErrorCode.invalidFetchSessionEpoch.rawValue)
                #expect(refused.responses.isEmpty)
            }
            // The refused requests moved nothing: epoch 1 is still expected, and the offset is 0.
            let first = try await broker.send(incremental(makeFetch(topic, []), id: id, epoch: 1), version: 12)
            #expect(first.errorCode == 0)
            #expect(try contents(first).first?.1 == [0, 1], "records are news, from the session's offset 0")

            let closing = try await broker.send(incremental(makeFetch(topic, [(0, 0)]), id: id, epoch: -1), version: 12)
            #expect(closing.sessionId == 0)
            #expect(try contents(closing).first?.1 == [0, 1], "a full fetch without a session")
            let gone = try await broker.send(incremental(makeFetch(topic, []), id: id, epoch: 2), version: 12)
            #expect(gone.errorCode == ErrorCode.fetchSessionIdNotFound.rawValue)
            #expect(broker.core.fetchSessions.count == 0)
        }
    }

    @Test("forgotten partitions leave the session; new ones join it", arguments: [12, 13] as [Int16])
    func forgetAndAdd(version: Int16) async throws {
        try await FetchTestBroker.with { broker in
            let topic = try await broker.createTopic("forget", partitions: 3)
            let id = try await broker.send(incremental(makeFetch(topic, [(0, 0), (1, 0)]), id: 0, epoch: 0), version: version).sessionId
            #expect(id != 0)
            for partition in 0..<3 as Range<Int32> {
                try await broker.append(TestBatches.batch(count: 1), topic: "forget", partition: partition)
            }
            var request = incremental(makeFetch(topic, [(2, 0)]), id: id, epoch: 1)
            var forgotten = FetchRequest.ForgottenTopic()
            if version >= 13 { forgotten.topicId = topic.id } else { forgotten.topic = "forget" }
            forgotten.partitions = [0]
            request.forgottenTopicsData = [forgotten]
            let response = try await broker.send(request, version: version)
            #expect(try contents(response).map(\.0) == [1, 2], "0 forgotten, 1 kept, 2 added at the end")
        }
    }

    @Test("a long poll of a session waits on every partition of the session, not only those named")
    func longPollCoversTheSession() async throws {
        try await FetchTestBroker.with { broker in
            let topic = try await broker.createTopic("poll", partitions: 2)
            let id = try await broker.send(incremental(makeFetch(topic, [(0, 0), (1, 0)]), id: 0, epoch: 0), version: 12).sessionId
            async let answer = broker.send(
                incremental(makeFetch(topic, [], minBytes: 1, maxWaitMs: 20_000), id: id, epoch: 1), version: 12)
            await broker.clock.waitForSleepers(until: broker.clock.nowMilliseconds() + 20_000)
            try await broker.append(TestBatches.batch(count: 2, first: 7), topic: "poll", partition: 1)
            // The clock stands still: only the append to partition 1 can end the wait.
            let response = try await answer
            #expect(try contents(response).map(\.0) == [1])
        }
    }

    @Test("a full cache replaces its least recently used session only once that one has been idle long enough")
    func cacheEviction() throws {
        let random = SeededRandomSource(seed: 7)
        print("seed \(random.seed)")
        let cache = FetchSessionCache(capacity: 2, evictionIdleMilliseconds: 1_000, random: random)
        var request = FetchRequest()
        request.sessionEpoch = 0
        var topic = FetchRequest.FetchTopic()
        topic.topic = "t"
        topic.partitions = [FetchRequest.FetchPartition()]
        request.topics = [topic]
        let first = cache.open(request, answeredBy: FetchResponse(), now: 0)
        let second = cache.open(request, answeredBy: FetchResponse(), now: 500)
        #expect(first != 0 && second != 0 && first != second)
        #expect(cache.open(request, answeredBy: FetchResponse(), now: 999) == 0, "both used within the idle time")
        let third = cache.open(request, answeredBy: FetchResponse(), now: 1_000)
        #expect(third != 0)
        #expect(cache.count == 2)
        var next = FetchRequest()
        next.sessionId = first
        next.sessionEpoch = 1
        guard case .failed(let error) = cache.lookup(next, now: 1_000) else {
            Issue.record("the evicted session still answers")
            return
        }
        #expect(error == .fetchSessionIdNotFound)
        next.sessionId = second
        guard case .incremental(let id, let topics) = cache.lookup(next, now: 1_000) else {
            Issue.record("the second session was evicted")
            return
        }
        #expect(id == second)
        #expect(topics.map(\.topic) == ["t"])
    }

    @Test("epochs wrap from Int32.max to 1")
    func epochWraps() {
        #expect(FetchSessionCache.epoch(after: 1) == 2)
        #expect(FetchSessionCache.epoch(after: Int32.max) == 1)
    }
}
