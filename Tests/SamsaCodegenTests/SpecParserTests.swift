import Testing
@testable import SamsaCodegenCore

@Suite struct SpecParserTests {
    func parse(_ source: String) throws(SpecError) -> RawApiSpec {
        var parser = try SpecParser(source: source, file: "Spec/Messages/99-Test.spec")
        return try parser.parse()
    }

    func expectError(_ source: String, line: Int, containing text: String, sourceLocation: SourceLocation = #_sourceLocation) {
        do {
            _ = try SpecResolver(spec: parse(source)).resolve()
            Issue.record("expected an error containing \"\(text)\"", sourceLocation: sourceLocation)
        } catch {
            #expect(error.line == line, "\(error)", sourceLocation: sourceLocation)
            #expect(error.description.hasPrefix("Spec/Messages/99-Test.spec:\(line): "), sourceLocation: sourceLocation)
            #expect(error.message.contains(text), "\(error)", sourceLocation: sourceLocation)
        }
    }

    let header = "api 99 Test\nversions 0-5\nflexible 3+\n"

    @Test func parsesHeaderFieldsAndModifiers() throws {
        let spec = try parse(
            """
            /// The API.
            api 99 Test
            versions 1-5   # comment
            advertise 0-5
            flexible 3+

            request
              /// A field.
              Name: string v2+ nullable v4+ default "a # b"
              Items: [Item] v1-4 ignorable
                Id: int32 default -0x10
              Tagged: int64 v3+ tag 7 default -1
            response
            """)
        #expect(spec.doc == ["The API."])
        #expect(spec.versions == VersionRange(1, 5))
        #expect(spec.advertisedVersions == VersionRange(0, 5))
        #expect(spec.firstFlexibleVersion == 3)
        let name = spec.request.fields[0]
        #expect(name.doc == ["A field."])
        #expect(name.versions == VersionRange(2, VersionRange.maximum))
        #expect(name.nullableVersions == VersionRange(4, VersionRange.maximum))
        #expect(name.defaultValue == .string("a # b"))
        #expect(spec.request.fields[1].type == .array(.structure("Item")))
        #expect(spec.request.fields[1].ignorable)
        #expect(spec.request.fields[1].children[0].defaultValue == .integer(-16))
        #expect(spec.request.fields[2].tag == 7)
    }

    @Test func resolvesRangesAgainstParents() throws {
        let api = try SpecResolver(
            spec: parse(
                header + """
                    request
                      Items: [Item] v2+
                        Old: int32 v0-3
                        New: int32 v4+
                      Common: [Shared] v1-2
                      Other: Shared v4+ tag 0
                      struct Shared
                        X: int8
                    response
                    """)
        ).resolve()
        let item = try #require(api.request.structNamed("Item"))
        #expect(item.hull == VersionRange(2, 5))
        #expect(item.fields[0].versions == VersionRange(2, 3))
        #expect(item.fields[1].versions == VersionRange(4, 5))
        let shared = try #require(api.request.structNamed("Shared"))
        #expect(shared.hull == VersionRange(1, 5))
    }

    @Test func malformedSpecsReportFileAndLine() {
        expectError(header + "request\n  Name string\nresponse\n", line: 5, containing: "expected a field")
        expectError(header + "request\n  Name: strng\nresponse\n", line: 5, containing: "unknown type `strng`")
        expectError(header + "request\n   Name: string\nresponse\n", line: 5, containing: "multiple of two spaces")
        expectError(header + "request\n  Name: string v2+ bogus\nresponse\n", line: 5, containing: "unknown modifier `bogus`")
        expectError(header + "request\n  Count: int32 nullable\nresponse\n", line: 5, containing: "cannot be nullable")
        expectError(header + "request\n  Count: int8 default 300\nresponse\n", line: 5, containing: "out of range")
        expectError(header + "request\n  Items: [Missing]\nresponse\n", line: 5, containing: "unknown struct `Missing`")
        expectError(header + "request\n  A: int8 tag 1\n  B: int8 tag 1\nresponse\n", line: 6, containing: "tag 1 is already used")
        expectError(header + "request\n  A: int8\n  A: int16\nresponse\n", line: 6, containing: "same Swift name")
        expectError(header + "request\n  Name: string\n      Deep: int8\nresponse\n", line: 6, containing: "unexpected indentation")
        expectError(header + "request\n  Name: string\n    Child: int8\nresponse\n", line: 6, containing: "primitive type")
        expectError("api 99 Test\nversions 0-5\nrequest\nresponse\n", line: 3, containing: "must come before")
        expectError("api 99 Test\nversions 0+\nflexible 3+\nrequest\nresponse\n", line: 2, containing: "closed range")
        expectError(header + "request\n  A: [X]\n    B: int8\n  C: [X]\n    D: int8\nresponse\n", line: 7, containing: "declared twice")
        expectError(header + "request\n  A: X\n    B: X\nresponse\n", line: 5, containing: "contains itself")
        expectError(header + "request\n  A: string default \"open\nresponse\n", line: 5, containing: "unterminated string")
        expectError("api 99 Test\nversions 0-5\nflexible none\nrequest\n  A: int8 tag 0\nresponse\n", line: 5, containing: "never flexible")
    }

    @Test func errorCodesParse() throws {
        let codes = try ErrorCodesParser.parse(
            """
            # comment
            3 UNKNOWN_TOPIC_OR_PARTITION retriable "This server does not host \\"it\\"."
            -1 UNKNOWN_SERVER_ERROR fatal "Unexpected."
            0 NONE fatal ""
            """, file: "Spec/ErrorCodes.spec")
        #expect(codes.map(\.code) == [-1, 0, 3])
        #expect(codes[2].message == "This server does not host \"it\".")
        #expect(codes[2].isRetriable)
        #expect(ErrorCodesParser.memberName("NONE") == "noError")
        #expect(ErrorCodesParser.memberName("UNKNOWN_TOPIC_OR_PARTITION") == "unknownTopicOrPartition")
        #expect(throws: SpecError.self) { try ErrorCodesParser.parse("1 X maybe \"m\"", file: "f") }
        #expect(throws: SpecError.self) { try ErrorCodesParser.parse("1 X fatal \"m\"\n1 Y fatal \"n\"", file: "f") }
    }

    @Test func namesBecomeLowerCamelCase() {
        #expect(Naming.lowerCamel("TopicData") == "topicData")
        #expect(Naming.lowerCamel("ACLBindings") == "aclBindings")
        #expect(Naming.lowerCamel("ID") == "id")
        #expect(Naming.propertyName("Protocol") == "`protocol`")
        #expect(Naming.propertyName("Default") == "`default`")
    }
}
