import NIOCore
@testable import SamsaClient
import SamsaRecords
import Testing

@testable import samsa

@Suite struct JSONValueTests {
    private func text(_ value: JSONValue) -> String {
        String(decoding: JSONOutput.line(value).dropLast(), as: UTF8.self)
    }

    @Test func writesKeysSortedWithoutSpaces() {
        let document: JSONValue = ["b": 2, "a": [true, nil, 1.5] as JSONValue, "c": ["z": "y"] as JSONValue]
        #expect(text(document) == #"{"a":[true,null,1.5],"b":2,"c":{"z":"y"}}"#)
    }

    @Test func escapesQuotesBackslashesAndControlCharactersOnly() {
        let document = JSONValue.string("a\"b\\c\n\r\t\u{01}\u{1f}/é€😀")
        #expect(text(document) == #""a\"b\\c\n\r\t\u0001\u001f/é€😀""#)
    }

    @Test func optionalsBecomeNullAndIntegersStayIntegers() {
        let missing: String? = nil
        let document: JSONValue = ["id": missing, "partition": Int32(3), "offset": Int64.max, "epoch": Int16(-1)]
        #expect(text(document) == #"{"epoch":-1,"id":null,"offset":9223372036854775807,"partition":3}"#)
    }

    @Test func nonFiniteNumbersAreWrittenAsNull() {
        #expect(text([.number(.nan), .number(.infinity)]) == "[null,null]")
    }

    @Test func parsesEveryTypeApart() throws {
        let document = try JSONValue(parsing: Array(#"{"i": 7, "d": 7.5, "t": true, "n": null, "s": "x\u00e9", "a": [1, "1"]}"#.utf8))
        guard case .object(let parsed) = document else {
            Issue.record("not an object: \(document)")
            return
        }
        #expect(parsed["i"] == .integer(7))
        #expect(parsed["d"] == .number(7.5))
        #expect(parsed["t"] == .bool(true))
        #expect(parsed["n"] == .null)
        #expect(parsed["s"] == .string("xé"))
        #expect(parsed["a"] == .array([.integer(1), .string("1")]))
        #expect(parsed["missing"] == nil)
    }

    @Test func writtenDocumentsParseBackUnchanged() throws {
        let document: JSONValue = [
            "text": "quote \" and \\ and \u{07}", "list": [1, -2.25, false, nil] as JSONValue,
            "nested": ["deeper": ["x": "y"] as JSONValue] as JSONValue,
        ]
        #expect(try JSONValue(parsing: JSONOutput.line(document).dropLast()) == document)
    }

    @Test func rejectsWhatIsNotJSON() {
        for bad in ["{", #"{"a": }"#, "nul", #"{"a": 1 "b": 2}"#, ""] {
            #expect(throws: (any Error).self, "\(bad)") { try JSONValue(parsing: Array(bad.utf8)) }
        }
    }

    @Test func mergingReplacesMembersOfTheSameName() {
        let document: JSONValue = ["a": 1, "b": 2]
        #expect(document.merging(["b": 3, "c": 4]) == ["a": 1, "b": 3, "c": 4])
    }
}

@Suite struct RecordJSONTests {
    @Test func aConsumedRecordReadsBackAsTheSameRecord() throws {
        let binary = ByteBuffer(bytes: [0xff, 0x00, 0x80])
        let record = ConsumerRecord(
            topic: "t", partition: 2, offset: 41, timestamp: 1_700_000_000_000, timestampType: .createTime,
            key: ByteBuffer(string: "k"), value: binary,
            headers: [RecordHeader(key: "h", value: ByteBuffer(string: "v")), RecordHeader(key: "n", value: nil)])
        let line = JSONOutput.line(RecordJSON.object(record))
        #expect(line.last == UInt8(ascii: "\n"))
        let printed = String(decoding: line.dropLast(), as: UTF8.self)
        #expect(printed.contains(#""value":"/wCA","value_encoding":"base64""#))

        let produced = try RecordJSON.record(line.dropLast()[...], topic: "copy", lineNumber: 1)
        #expect(produced.topic == "copy")
        #expect(produced.key == ByteBuffer(string: "k"))
        #expect(produced.value == binary)
        #expect(produced.headers == record.headers)
        #expect(produced.timestamp == 1_700_000_000_000)
    }

    @Test func headersMayBeAnObjectOrPairs() throws {
        let fromObject = try RecordJSON.record(Array(#"{"headers": {"b": "2", "a": null}}"#.utf8)[...], topic: "t", lineNumber: 1)
        #expect(fromObject.headers == [RecordHeader(key: "a", value: nil), RecordHeader(key: "b", value: ByteBuffer(string: "2"))])
        let fromPairs = try RecordJSON.record(Array(#"{"headers": [["a", "1"]], "partition": 4}"#.utf8)[...], topic: "t", lineNumber: 1)
        #expect(fromPairs.headers == [RecordHeader(key: "a", value: ByteBuffer(string: "1"))])
        #expect(fromPairs.partition == 4)
    }

    @Test func badFieldsAreNamedWithTheLine() {
        let cases = [
            (#"{"value": 5}"#, "line 3: value must be a string or null"),
            (#"{"partition": 1.5}"#, "line 3: partition must be a partition number"),
            (#"{"partition": -1}"#, "line 3: partition must be a partition number"),
            (#"{"timestamp": true}"#, "line 3: timestamp must be an integer"),
            (#"{"value": "%%", "value_encoding": "base64"}"#, "line 3: value is not valid base64"),
            (#"{"value": "x", "value_encoding": "hex"}"#, "line 3: value_encoding 'hex'"),
            (#"{"headers": [1]}"#, "line 3: a header must be"),
            ("[1]", "line 3: not a JSON object"),
        ]
        for (line, expected) in cases {
            do {
                _ = try RecordJSON.record(Array(line.utf8)[...], topic: "t", lineNumber: 3)
                Issue.record("\(line) was accepted")
            } catch {
                #expect("\(error)".contains(expected), "\(line): \(error)")
            }
        }
    }
}

@Suite struct CommandTextTests {
    @Test func numbersAreFormattedAsPrintfDoes() {
        #expect(BenchReport.format(1234.5678, digits: 2) == "1234.57")
        #expect(BenchReport.format(0, digits: 3) == "0.000")
        #expect(BenchReport.format(-2.5) == "-2.5")
        #expect(BenchReport.format(78318.64) == "78318.6")
    }

    @Test func timesAreMillisecondsOrISO8601() {
        #expect(TimeText.milliseconds("1700000000000") == 1_700_000_000_000)
        #expect(TimeText.milliseconds("2023-11-14T22:13:20Z") == 1_700_000_000_000)
        #expect(TimeText.milliseconds("2023-11-15T00:13:20+02:00") == 1_700_000_000_000)
        #expect(TimeText.milliseconds("2023-11-14T22:13:20.250Z") == 1_700_000_000_250)
        #expect(TimeText.milliseconds("yesterday") == nil)
        #expect(TimeText.milliseconds("-5") == nil)
    }

    @Test func grepMatchesKeysValuesAndHeaders() throws {
        let matches = try RecordMatcher("(?i)needle").predicate()
        func record(key: String? = nil, value: String? = nil, header: (String, String)? = nil) -> ConsumerRecord {
            ConsumerRecord(
                topic: "t", partition: 0, offset: 0, timestamp: 0, timestampType: .createTime, key: key.map { ByteBuffer(string: $0) },
                value: value.map { ByteBuffer(string: $0) },
                headers: header.map { [RecordHeader(key: $0.0, value: ByteBuffer(string: $0.1))] } ?? [])
        }
        #expect(matches(record(key: "a NEEDLE")))
        #expect(matches(record(value: "needles")))
        #expect(matches(record(header: ("h", "needle"))))
        #expect(!matches(record(key: "hay", value: "stack", header: ("nee", "dle"))))
        #expect(throws: (any Error).self) { try RecordMatcher("(") }
    }
}
