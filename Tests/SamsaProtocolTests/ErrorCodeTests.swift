import SamsaProtocol
import Testing

@Suite struct ErrorCodeTests {
    @Test func knownCodesHaveKafkaNamesAndRetriability() {
        #expect(ErrorCode.unknownTopicOrPartition.rawValue == 3)
        #expect(ErrorCode.unknownTopicOrPartition.name == "UNKNOWN_TOPIC_OR_PARTITION")
        #expect(ErrorCode.unknownTopicOrPartition.isRetriable)
        #expect(!ErrorCode.offsetOutOfRange.isRetriable)
        #expect(ErrorCode.noError.rawValue == 0)
        #expect(ErrorCode.noError.name == "NONE")
        #expect(ErrorCode(rawValue: 35) == .unsupportedVersion)
        #expect(!ErrorCode.unknownServerError.message.isEmpty)
        #expect(ErrorCode.unknownTopicOrPartition.isKnown)
    }

    @Test func unknownCodesAreRepresentable() {
        let code = ErrorCode(rawValue: 9_999)
        #expect(!code.isKnown)
        #expect(code.name == "UNKNOWN(9999)")
        #expect(!code.isRetriable)
        #expect(code.description == "UNKNOWN(9999)(9999)")
    }

    @Test func everyKnownCodeHasANameAndMessage() {
        #expect(ErrorCode.knownRawValues.count > 100)
        for raw in ErrorCode.knownRawValues {
            let code = ErrorCode(rawValue: raw)
            #expect(code.isKnown)
            #expect(!code.name.hasPrefix("UNKNOWN("))
            #expect(!code.message.isEmpty)
        }
    }
}
