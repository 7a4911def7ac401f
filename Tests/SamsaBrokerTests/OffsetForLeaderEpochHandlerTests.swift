import SamsaProtocol
import Testing

@testable import SamsaBroker

@Suite("OffsetForLeaderEpoch")
struct OffsetForLeaderEpochHandlerTests {
    private func request(_ topic: String, _ partitions: [(partition: Int32, current: Int32, epoch: Int32)]) -> OffsetForLeaderEpochRequest {
        var request = OffsetForLeaderEpochRequest()
        request.replicaId = -1
        var wanted = OffsetForLeaderEpochRequest.OffsetForLeaderTopic()
        wanted.topic = topic
        for entry in partitions {
            var partition = OffsetForLeaderEpochRequest.OffsetForLeaderPartition()
            partition.partition = entry.partition
            partition.currentLeaderEpoch = entry.current
            partition.leaderEpoch = entry.epoch
            wanted.partitions.append(partition)
        }
        request.topics = [wanted]
        return request
    }

    @Test("v0-1 (beyond Kafka 4, no CurrentLeaderEpoch): epoch 0 ends at the log end", arguments: [0, 1] as [Int16])
    func oldVersions(version: Int16) async throws {
        try await FetchTestBroker.with { broker in
            try await broker.createTopic("epochs")
            try await broker.append(TestBatches.batch(count: 4), topic: "epochs")
            let response = try await broker.send(request("epochs", [(0, -1, 0), (0, -1, 3), (5, -1, 0)]), version: version)
            let answers = try #require(response.topics.first?.partitions)
            #expect(answers.map(\.errorCode) == [0, 0, ErrorCode.unknownTopicOrPartition.rawValue])
            #expect(answers.map(\.endOffset) == [4, -1, -1])
        }
    }

    @Test("epoch 0 ends at the log end; later epochs are unknown; the current epoch is checked", arguments: [2, 3, 4] as [Int16])
    func answers(version: Int16) async throws {
        try await FetchTestBroker.with { broker in
            try await broker.createTopic("epochs", partitions: 2)
            try await broker.append(TestBatches.batch(count: 6), topic: "epochs", partition: 1)
            let response = try await broker.send(
                request(
                    "epochs",
                    [
                        (0, -1, 0), (1, 0, 0), (1, -1, 1), (1, -1, -1), (1, 1, 0), (1, -3, 0), (1, -1, -5), (7, -1, 0),
                    ]), version: version)
            let answers = try #require(response.topics.first?.partitions)
            #expect(response.topics.first?.topic == "epochs")
            #expect(answers.map(\.partition) == [0, 1, 1, 1, 1, 1, 1, 7])
            #expect(
                answers.map(\.errorCode) == [
                    0, 0, 0, 0, ErrorCode.unknownLeaderEpoch.rawValue, ErrorCode.fencedLeaderEpoch.rawValue, 0,
                    ErrorCode.unknownTopicOrPartition.rawValue,
                ])
            #expect(answers.map(\.leaderEpoch) == [0, 0, -1, -1, -1, -1, -5, -1])
            #expect(answers.map(\.endOffset) == [0, 6, -1, -1, -1, -1, 0, -1])

            let unknown = try await broker.send(request("nope", [(0, -1, 0)]), version: version)
            #expect(unknown.topics.first?.partitions.first?.errorCode == ErrorCode.unknownTopicOrPartition.rawValue)
            #expect(unknown.topics.first?.partitions.first?.endOffset == -1)
        }
    }
}
