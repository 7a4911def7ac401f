import NIOCore
import SamsaBinary
import SamsaProtocol
import Testing

@Suite struct HeaderTests {
    @Test func clientIdIsNeverCompactEvenInHeaderV2() throws {
        let header = RequestHeader(apiKey: .metadata, apiVersion: 12, correlationId: 7, clientId: "abc")
        var buffer = ByteBuffer()
        header.encode(into: &buffer, headerVersion: 2)
        #expect(Array(buffer.readableBytesView) == [0, 3, 0, 12, 0, 0, 0, 7, 0, 3, 97, 98, 99, 0])
        #expect(try RequestHeader(from: &buffer, headerVersion: 2) == header)
        #expect(buffer.readableBytes == 0)
    }

    @Test func nullClientIdIsMinusOne() throws {
        let header = RequestHeader(apiKey: .produce, apiVersion: 3, correlationId: 1, clientId: nil)
        var buffer = ByteBuffer()
        header.encode(into: &buffer, headerVersion: 1)
        #expect(Array(buffer.readableBytesView) == [0, 0, 0, 3, 0, 0, 0, 1, 0xFF, 0xFF])
        #expect(try RequestHeader(from: &buffer, headerVersion: 1).clientId == nil)
    }

    @Test func headerV0HasNoClientId() throws {
        let header = RequestHeader(apiKey: ApiKey(rawValue: 7), apiVersion: 0, correlationId: 3, clientId: "ignored")
        var buffer = ByteBuffer()
        header.encode(into: &buffer, headerVersion: 0)
        #expect(buffer.readableBytes == 8)
        #expect(try RequestHeader(from: &buffer, headerVersion: 0).clientId == nil)
    }

    @Test func requestHeaderVersionFollowsFlexibility() throws {
        let produce = try #require(ApiMessageTable.descriptor(for: .produce))
        #expect(produce.requestHeaderVersion(for: 8) == 1)
        #expect(produce.requestHeaderVersion(for: 9) == 2)
        #expect(produce.responseHeaderVersion(for: 8) == 0)
        #expect(produce.responseHeaderVersion(for: 9) == 1)
        #expect(RequestHeader.headerVersion(apiKey: .apiVersions, apiVersion: 3) == 2)
        #expect(RequestHeader.headerVersion(apiKey: .apiVersions, apiVersion: 2) == 1)
        #expect(RequestHeader.headerVersion(apiKey: ApiKey(rawValue: 999), apiVersion: 5) == 1)
    }

    @Test func apiVersionsResponsesAlwaysUseHeaderV0() throws {
        for version: Int16 in 0...4 {
            #expect(ResponseHeader.headerVersion(apiKey: .apiVersions, apiVersion: version) == 0)
        }
        var response = ApiVersionsResponse()
        response.errorCode = ErrorCode.unsupportedVersion.rawValue
        var buffer = ByteBuffer()
        KafkaResponse.encode(response, version: 3, correlationId: 42, into: &buffer)
        // Header v0 is only the correlation id; the body's error code follows at once.
        #expect(buffer.getInteger(at: buffer.readerIndex, as: Int32.self) == 42)
        #expect(buffer.getInteger(at: buffer.readerIndex + 4, as: Int16.self) == 35)
        let (header, body) = try KafkaResponse.decode(ApiVersionsResponse.self, version: 3, from: &buffer)
        #expect(header.correlationId == 42)
        #expect(body == response)
    }

    @Test func flexibleResponsesUseHeaderV1() throws {
        var buffer = ByteBuffer()
        KafkaResponse.encode(MetadataResponse(), version: 9, correlationId: 5, into: &buffer)
        #expect(buffer.getInteger(at: buffer.readerIndex + 4, as: UInt8.self) == 0, "empty header tag section")
        let (header, body) = try KafkaResponse.decode(MetadataResponse.self, version: 9, from: &buffer)
        #expect(header.correlationId == 5)
        #expect(body == MetadataResponse())
        #expect(buffer.readableBytes == 0)
    }

    @Test func controlledShutdownV0UsesRequestHeaderV0() {
        let descriptor = ApiMessageDescriptor(request: ControlledShutdownV0Stand.self)
        #expect(descriptor.requestHeaderVersion(for: 0) == 0)
        #expect(descriptor.requestHeaderVersion(for: 1) == 1)
    }
}

/// A stand-in for ControlledShutdown (key 7), which the spec does not describe, to check the
/// header-version exception.
private struct ControlledShutdownV0Stand: KafkaRequestMessage {
    typealias Response = ControlledShutdownV0StandResponse
    static let apiKey = ApiKey(rawValue: 7)
    static let supportedVersions: ClosedRange<Int16> = 0...3
    static let advertisedVersions: ClosedRange<Int16> = 0...3
    static let firstFlexibleVersion: Int16? = 3
    var unknownTaggedFields: [TaggedField] = []
    init() {}
    init(from buffer: inout ByteBuffer, version: Int16) throws(WireFormatError) {}
    func encode(into buffer: inout ByteBuffer, version: Int16) {}
}

private struct ControlledShutdownV0StandResponse: KafkaResponseMessage {
    static let apiKey = ApiKey(rawValue: 7)
    static let supportedVersions: ClosedRange<Int16> = 0...3
    static let advertisedVersions: ClosedRange<Int16> = 0...3
    static let firstFlexibleVersion: Int16? = 3
    var unknownTaggedFields: [TaggedField] = []
    init() {}
    init(from buffer: inout ByteBuffer, version: Int16) throws(WireFormatError) {}
    func encode(into buffer: inout ByteBuffer, version: Int16) {}
}
