import NIOCore
import SamsaBinary
import SamsaProtocol
import Testing

@Suite struct RoundTripTests {
    /// Every request and response, at every supported version, several random values each.
    @Test(arguments: allApiKeys)
    func everyVersionRoundTrips(apiKey: Int16) throws {
        let descriptor = try #require(ApiMessageTable.descriptor(for: ApiKey(rawValue: apiKey)))
        var random = TestRandom(seed: 0x5A_4D_5A00 + UInt64(apiKey))
        for version in descriptor.supportedVersions {
            for _ in 0..<8 {
                let request = try #require(RandomMessages.request(apiKey: apiKey, version: version, using: &random))
                try expectRoundTrip(request, version: version)
                let response = try #require(RandomMessages.response(apiKey: apiKey, version: version, using: &random))
                try expectRoundTrip(response, version: version)
            }
        }
    }

    @Test func defaultValuesRoundTripAtEveryVersion() throws {
        for descriptor in ApiMessageTable.all {
            for version in descriptor.supportedVersions {
                try expectRoundTrip(descriptor.requestType.init(), version: version)
                try expectRoundTrip(descriptor.responseType.init(), version: version)
            }
        }
    }

    @Test func tableDescribesEveryMessageConsistently() {
        #expect(!ApiMessageTable.all.isEmpty)
        for descriptor in ApiMessageTable.all {
            #expect(descriptor.requestType.apiKey == descriptor.apiKey)
            #expect(descriptor.responseType.apiKey == descriptor.apiKey)
            #expect(descriptor.responseType.supportedVersions == descriptor.supportedVersions)
            #expect(descriptor.apiKey.isKnown)
            #expect(!descriptor.apiKey.name.hasPrefix("Unknown"))
        }
        #expect(ApiKey(rawValue: 32000).isKnown == false)
        #expect(ApiKey(rawValue: 32000).name == "Unknown(32000)")
    }
}
