import ArgumentParser
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import NIOCore
import SamsaClient
import SamsaRecords

/// `--json` output: one JSON document per line, keys sorted so the output is stable.
enum JSONOutput {
    static func line(_ document: JSONValue) -> [UInt8] {
        var out: [UInt8] = []
        append(document, to: &out)
        return out
    }

    /// Appends `document` and a newline to `out`.
    static func append(_ document: JSONValue, to out: inout [UInt8]) {
        document.write(into: &out)
        out.append(UInt8(ascii: "\n"))
    }

    static func write(_ document: JSONValue) {
        StandardOutput.write(line(document))
    }

    /// A table as a list of objects, one per row, keyed by the lower-cased header names.
    static func rows(_ table: [[String]], numeric: Set<String> = []) -> [JSONValue] {
        guard let header = table.first else { return [] }
        let keys = header.map { $0.lowercased() }
        return table.dropFirst().map { row in
            var members: [String: JSONValue] = [:]
            for (key, cell) in zip(keys, row) {
                members[key] = numeric.contains(key) ? Int64(cell).json : .string(cell)
            }
            return .object(members)
        }
    }

    /// Milliseconds with three decimals, as a JSON number.
    static func milliseconds(_ value: Double) -> Double {
        (value * 1000).rounded() / 1000
    }
}

/// Records as JSON objects: what `samsa consume --json` prints and `samsa produce --json` reads.
///
/// Keys, values and header values are UTF-8 strings when their bytes are valid UTF-8; other
/// bytes are base64, marked by a sibling `key_encoding`, `value_encoding` or (in a header)
/// `value_encoding` set to `"base64"`. Null stays null.
enum RecordJSON {
    static func object(_ record: ConsumerRecord) -> JSONValue {
        var object: [String: JSONValue] = [
            "topic": .string(record.topic), "partition": record.partition.json, "offset": record.offset.json,
            "timestamp": record.timestamp.json,
        ]
        put(record.key, "key", into: &object)
        put(record.value, "value", into: &object)
        object["headers"] = .array(
            record.headers.map { header in
                var entry: [String: JSONValue] = ["key": .string(header.key)]
                put(header.value, "value", into: &entry)
                return .object(entry)
            })
        return .object(object)
    }

    private static func put(_ bytes: ByteBuffer?, _ name: String, into object: inout [String: JSONValue]) {
        guard let bytes else {
            object[name] = .null
            return
        }
        // Decoding repairs invalid UTF-8, so the text is the bytes exactly when they were valid.
        let text = String(decoding: bytes.readableBytesView, as: UTF8.self)
        if text.utf8.elementsEqual(bytes.readableBytesView) {
            object[name] = .string(text)
        } else {
            object[name] = .string(Data(bytes.readableBytesView).base64EncodedString())
            object[name + "_encoding"] = "base64"
        }
    }

    /// A record to produce from one input line: `{"key": ..., "value": ..., "headers": ...,
    /// "partition": ..., "timestamp": ...}`, every field optional. Headers are an object
    /// (`{"name": "value"}`), a list of `[name, value]` pairs, or a list of `{"key", "value"}`
    /// objects as `samsa consume --json` prints them.
    static func record(_ line: ArraySlice<UInt8>, topic: String, lineNumber: Int) throws -> ProducerRecord {
        func fail(_ problem: String) -> ValidationError { ValidationError("--json input line \(lineNumber): \(problem)") }
        guard let document = try? JSONValue(parsing: line), case .object(let object) = document else {
            throw fail("not a JSON object")
        }
        let key = try bytes(object, "key", fail)
        let value = try bytes(object, "value", fail)
        var headers: [RecordHeader] = []
        switch object["headers"] {
        case nil, .null: break
        case .object(let map):
            for name in map.keys.sorted() { headers.append(RecordHeader(key: name, value: try bytes(map, name, fail))) }
        case .array(let list):
            for entry in list {
                if case .array(let pair) = entry, pair.count == 2, case .string(let name) = pair[0] {
                    headers.append(RecordHeader(key: name, value: try bytes(["value": pair[1]], "value", fail)))
                } else if case .object(let item) = entry, case .string(let name)? = item["key"] {
                    headers.append(RecordHeader(key: name, value: try bytes(item, "value", fail)))
                } else {
                    throw fail("a header must be [name, value] or {\"key\": name, \"value\": value}")
                }
            }
        default: throw fail("headers must be an object or a list")
        }
        return ProducerRecord(
            topic: topic, key: key, value: value, headers: headers, partition: try integer(object, "partition", fail).map(Int32.init),
            timestamp: try integer(object, "timestamp", fail))
    }

    private static func bytes(_ object: [String: JSONValue], _ name: String, _ fail: (String) -> ValidationError) throws -> ByteBuffer? {
        switch object[name] {
        case nil, .null: return nil
        case .string(let text):
            switch object[name + "_encoding"] {
            case nil, "utf8", "utf-8": return ByteBuffer(string: text)
            case "base64":
                guard let data = Data(base64Encoded: text) else { throw fail("\(name) is not valid base64") }
                return ByteBuffer(bytes: data)
            case .string(let other): throw fail("\(name)_encoding '\(other)': expected base64 or utf8")
            default: throw fail("\(name)_encoding must be a string")
            }
        default: throw fail("\(name) must be a string or null")
        }
    }

    private static func integer(_ object: [String: JSONValue], _ name: String, _ fail: (String) -> ValidationError) throws -> Int64? {
        switch object[name] {
        case nil, .null: return nil
        case .integer(let number) where name != "partition" || (0...Int64(Int32.max)).contains(number): return number
        default: throw fail("\(name) must be \(name == "partition" ? "a partition number" : "an integer")")
        }
    }
}
