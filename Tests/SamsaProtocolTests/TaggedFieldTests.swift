import NIOCore
import SamsaBinary
import SamsaProtocol
import Testing

@Suite struct TaggedFieldTests {
    func sampleResponse() -> ApiVersionsResponse {
        var response = ApiVersionsResponse()
        var apiVersion = ApiVersionsResponse.ApiVersion()
        apiVersion.apiKey = 18
        apiVersion.maxVersion = 4
        response.apiKeys = [apiVersion]
        var feature = ApiVersionsResponse.SupportedFeatureKey()
        feature.name = "transaction.version"
        feature.maxVersion = 2
        response.supportedFeatures = [feature]
        response.zkMigrationReady = true
        return response
    }

    @Test func unknownTagsSurviveARoundTripMergedInTagOrder() throws {
        var response = sampleResponse()
        let unknownLow = TaggedField(tag: 2_000, data: ByteBuffer(bytes: [1, 2, 3]))
        let unknownHigh = TaggedField(tag: 9_000, data: ByteBuffer(bytes: [4]))
        response.unknownTaggedFields = [unknownLow, unknownHigh]
        var buffer = encoded(response, version: 3)
        let decoded = try ApiVersionsResponse(from: &buffer, version: 3)
        #expect(decoded == response)
        #expect(decoded.unknownTaggedFields == [unknownLow, unknownHigh])
        try expectRoundTrip(response, version: 3)
    }

    @Test func knownTagsAreWrittenInAscendingOrderBeforeHigherUnknownTags() throws {
        var response = sampleResponse()
        response.unknownTaggedFields = [TaggedField(tag: 1_000, data: ByteBuffer(bytes: [7]))]
        var buffer = encoded(response, version: 3)
        // Skip the regular fields by decoding a response with no tagged fields set at all and
        // compare lengths: the tagged section is what remains.
        var plain = response
        plain.supportedFeatures = []
        plain.zkMigrationReady = false
        plain.unknownTaggedFields = []
        let plainBytes = encoded(plain, version: 3)
        buffer.moveReaderIndex(forwardBy: plainBytes.readableBytes - 1)
        #expect(try buffer.readTaggedFieldCount() == 3)
        #expect(try buffer.readTaggedField().tag == 0)
        #expect(try buffer.readTaggedField().tag == 3)
        #expect(try buffer.readTaggedField().tag == 1_000)
        #expect(buffer.readableBytes == 0)
    }

    @Test func defaultTaggedFieldsAreNotWritten() {
        let empty = ApiVersionsResponse()
        // error code (2) + compact empty array (1) + throttle (4) + empty tag section (1).
        #expect(encoded(empty, version: 3).readableBytes == 8)
        var withEpoch = ApiVersionsResponse()
        withEpoch.finalizedFeaturesEpoch = 5
        #expect(encoded(withEpoch, version: 3).readableBytes > 8)
    }

    @Test func tagsAreDroppedInVersionsThatAreNotFlexible() throws {
        let response = sampleResponse()
        var buffer = encoded(response, version: 2)
        let decoded = try ApiVersionsResponse(from: &buffer, version: 2)
        #expect(decoded.supportedFeatures.isEmpty)
        #expect(decoded.apiKeys == response.apiKeys)
    }

    @Test func nestedUnknownTagsSurvive() throws {
        var response = sampleResponse()
        response.apiKeys[0].unknownTaggedFields = [TaggedField(tag: 77, data: ByteBuffer(bytes: [9, 9]))]
        try expectRoundTrip(response, version: 4)
        var buffer = encoded(response, version: 4)
        let decoded = try ApiVersionsResponse(from: &buffer, version: 4)
        #expect(decoded.apiKeys[0].unknownTaggedFields.first?.tag == 77)
    }
}
