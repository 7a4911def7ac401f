import ArgumentParser
import Foundation
import NIOCore
import SamsaClient
import SamsaRecords

/// `--json` output: one JSON document per line, keys sorted so the output is stable.
enum JSONOutput {
    static func line(_ object: Any) -> [UInt8] {
        // Only values built by this file's callers (strings, numbers, arrays, dictionaries, NSNull) reach here.
        guard let data = try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes]) else {
            preconditionFailure("not a JSON value: \(object)")
        }
        return Array(data) + [UInt8(ascii: "\n")]
    }

    static func write(_ object: Any) {
        StandardOutput.write(line(object))
    }

    /// A table as a list of objects, one per row, keyed by the lower-cased header names.
    static func rows(_ table: [[String]], numeric: Set<String> = []) -> [[String: Any]] {
        guard let header = table.first else { return [] }
        let keys = header.map { $0.lowercased() }
        return table.dropFirst().map { row in
            var object: [String: Any] = [:]
            for (key, cell) in zip(keys, row) {
                object[key] = numeric.contains(key) ? (Int64(cell).map { $0 as Any } ?? NSNull()) : cell
            }
            return object
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
    static func object(_ record: ConsumerRecord) -> [String: Any] {
        var object: [String: Any] = [
            "topic": record.topic, "partition": Int(record.partition), "offset": record.offset, "timestamp": record.timestamp,
        ]
        put(record.key, "key", into: &object)
        put(record.value, "value", into: &object)
        object["headers"] = record.headers.map { header -> [String: Any] in
            var entry: [String: Any] = ["key": header.key]
            put(header.value, "value", into: &entry)
            return entry
        }
        return object
    }

    private static func put(_ bytes: ByteBuffer?, _ name: String, into object: inout [String: Any]) {
        guard let bytes else {
            object[name] = NSNull()
            return
        }
        // Decoding repairs invalid UTF-8, so the text is the bytes exactly when they were valid.
        let text = String(decoding: bytes.readableBytesView, as: UTF8.self)
        if text.utf8.elementsEqual(bytes.readableBytesView) {
            object[name] = text
        } else {
            object[name] = Data(bytes.readableBytesView).base64EncodedString()
            object[name + "_encoding"] = "base64"
        }
    }

    /// A record to produce from one input line: `{"key": ..., "value": ..., "headers": ...,
    /// "partition": ..., "timestamp": ...}`, every field optional. Headers are an object
    /// (`{"name": "value"}`), a list of `[name, value]` pairs, or a list of `{"key", "value"}`
    /// objects as `samsa consume --json` prints them.
    static func record(_ line: ArraySlice<UInt8>, topic: String, lineNumber: Int) throws -> ProducerRecord {
        func fail(_ problem: String) -> ValidationError { ValidationError("--json input line \(lineNumber): \(problem)") }
        guard let object = try? JSONSerialization.jsonObject(with: Data(line)) as? [String: Any] else {
            throw fail("not a JSON object")
        }
        let key = try bytes(object, "key", fail)
        let value = try bytes(object, "value", fail)
        var headers: [RecordHeader] = []
        switch object["headers"] {
        case nil, is NSNull: break
        case let map as [String: Any]:
            for name in map.keys.sorted() { headers.append(RecordHeader(key: name, value: try bytes(map, name, fail))) }
        case let list as [Any]:
            for entry in list {
                if let pair = entry as? [Any], pair.count == 2, let name = pair[0] as? String {
                    headers.append(RecordHeader(key: name, value: try bytes(["value": pair[1]], "value", fail)))
                } else if let item = entry as? [String: Any], let name = item["key"] as? String {
                    headers.append(RecordHeader(key: name, value: try bytes(item, "value", fail)))
                } else {
                    throw fail("a header must be [name, value] or {\"key\": name, \"value\": value}")
                }
            }
        default: throw fail("headers must be an object or a list")
        }
        return ProducerRecord(
            topic: topic, key: key, value: value, headers: headers, partition: try integer(object, "partition", fail).map(Int32.init),
            timestamp: try integer(object, "timestamp", fail).map(Int64.init))
    }

    private static func bytes(_ object: [String: Any], _ name: String, _ fail: (String) -> ValidationError) throws -> ByteBuffer? {
        switch object[name] {
        case nil, is NSNull: return nil
        case let text as String:
            switch object[name + "_encoding"] as? String {
            case nil, "utf8", "utf-8": return ByteBuffer(string: text)
            case "base64":
                guard let data = Data(base64Encoded: text) else { throw fail("\(name) is not valid base64") }
                return ByteBuffer(bytes: data)
            case let other?: throw fail("\(name)_encoding '\(other)': expected base64 or utf8")
            }
        default: throw fail("\(name) must be a string or null")
        }
    }

    private static func integer(_ object: [String: Any], _ name: String, _ fail: (String) -> ValidationError) throws -> Int? {
        guard let value = object[name], !(value is NSNull) else { return nil }
        // JSON's true and false arrive as NSNumbers too, which cast to Int; they are told apart by type.
        guard type(of: value) != type(of: NSNumber(value: true)), let number = value as? Int,
            name != "partition" || (0...Int(Int32.max)).contains(number)
        else { throw fail("\(name) must be \(name == "partition" ? "a partition number" : "an integer")") }
        return number
    }
}
