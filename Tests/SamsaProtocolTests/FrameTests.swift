import NIOCore
import SamsaBinary
import SamsaProtocol
import Testing

@Suite struct FrameTests {
    func produceRequest() -> ProduceRequest {
        var request = ProduceRequest()
        request.acks = -1
        request.timeoutMs = 30_000
        var topic = ProduceRequest.TopicProduceData()
        topic.name = "events"
        var partition = ProduceRequest.PartitionProduceData()
        partition.index = 2
        partition.records = ByteBuffer(bytes: [1, 2, 3, 4])
        topic.partitionData = [partition]
        request.topicData = [topic]
        return request
    }

    @Test(arguments: [Int16(3), 8, 9, 12])
    func requestFramesDecodeToHeaderAndBody(version: Int16) throws {
        var buffer = ByteBuffer()
        KafkaRequest.encode(produceRequest(), version: version, correlationId: 99, clientId: "samsa-test", into: &buffer)
        let request = try KafkaRequest.decode(from: &buffer)
        #expect(request.header.apiKey == .produce)
        #expect(request.header.apiVersion == version)
        #expect(request.header.correlationId == 99)
        #expect(request.header.clientId == "samsa-test")
        let body = try #require(request.body as? ProduceRequest)
        #expect(body == produceRequest())
        #expect(buffer.readableBytes == 0)
    }

    @Test func unknownApiKeysAreReportedWithTheCorrelationId() {
        var buffer = ByteBuffer()
        RequestHeader(apiKey: ApiKey(rawValue: 31_000), apiVersion: 0, correlationId: 12, clientId: nil)
            .encode(into: &buffer, headerVersion: 1)
        #expect {
            try KafkaRequest.decode(from: &buffer)
        } throws: { error in
            guard case RequestFrameError.unknownApiKey(let header) = error else { return false }
            return header.correlationId == 12 && header.apiKey.rawValue == 31_000
        }
    }

    @Test func unsupportedApiVersionsRequestsStillYieldTheirHeader() {
        var buffer = ByteBuffer()
        RequestHeader(apiKey: .apiVersions, apiVersion: 77, correlationId: 8, clientId: "new-client")
            .encode(into: &buffer, headerVersion: 2)
        buffer.writeBytes([0xAB, 0xCD])
        #expect {
            try KafkaRequest.decode(from: &buffer)
        } throws: { error in
            guard case RequestFrameError.unsupportedVersion(let header) = error else { return false }
            return header.apiKey == .apiVersions && header.apiVersion == 77 && header.clientId == "new-client"
        }
    }

    @Test func shortFramesAreMalformedHeaders() {
        var buffer = ByteBuffer(bytes: [0, 18, 0])
        #expect {
            try KafkaRequest.decode(from: &buffer)
        } throws: { error in
            guard case RequestFrameError.malformedHeader = error else { return false }
            return true
        }
    }

    @Test func malformedBodiesKeepTheHeader() {
        var buffer = ByteBuffer()
        KafkaRequest.encode(produceRequest(), version: 9, correlationId: 5, clientId: nil, into: &buffer)
        buffer.moveWriterIndex(to: buffer.writerIndex - 3)
        #expect {
            try KafkaRequest.decode(from: &buffer)
        } throws: { error in
            guard case RequestFrameError.malformedBody(let header, let cause) = error else { return false }
            return header.correlationId == 5 && cause.context.hasPrefix("ProduceRequest")
        }
    }
}

@Suite struct ResponseFrameTests {
    @Test func existentialResponsesEncodeLikeConcreteOnes() throws {
        var response = MetadataResponse()
        response.throttleTimeMs = 17
        let existential: any KafkaResponseMessage = response
        var concrete = ByteBuffer()
        KafkaResponse.encode(response, version: 12, correlationId: 3, into: &concrete)
        var opened = ByteBuffer()
        KafkaResponse.encode(existential, version: 12, correlationId: 3, into: &opened)
        #expect(concrete == opened)
        let (header, body) = try KafkaResponse.decode(MetadataResponse.self, version: 12, from: &opened)
        #expect(header.correlationId == 3)
        #expect(body.throttleTimeMs == 17)
    }
}
