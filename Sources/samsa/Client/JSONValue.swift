#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// A JSON document: what `--json` output prints and `samsa produce --json` reads.
///
/// The command writes and reads JSON itself rather than through Foundation's
/// `JSONSerialization`, which lives in the full Foundation library: linking it would load
/// Foundation and ICU into every `samsa` process, `samsa serve` included, for about 6 MB of
/// resident memory that the broker never uses.
enum JSONValue: Sendable, Equatable {
    case null
    case bool(Bool)
    case integer(Int64)
    case number(Double)
    case string(String)
    case array([JSONValue])
    case object([String: JSONValue])

    /// This object with the members of `other` added, replacing those of the same name.
    func merging(_ other: [String: JSONValue]) -> JSONValue {
        guard case .object(let members) = self else { preconditionFailure("merging into \(self), not an object") }
        return .object(members.merging(other) { _, new in new })
    }

    /// Appends the document to `out` as UTF-8, keys sorted so that the output is stable, with
    /// no spaces.
    func write(into out: inout [UInt8]) {
        switch self {
        case .null: out += "null".utf8
        case .bool(let value): out += (value ? "true" : "false").utf8
        case .integer(let value): out += String(value).utf8
        // JSON has neither NaN nor the infinities; the command's figures are finite.
        case .number(let value): out += (value.isFinite ? String(value) : "null").utf8
        case .string(let value): Self.writeString(value, into: &out)
        case .array(let elements):
            out.append(UInt8(ascii: "["))
            for (index, element) in elements.enumerated() {
                if index > 0 { out.append(UInt8(ascii: ",")) }
                element.write(into: &out)
            }
            out.append(UInt8(ascii: "]"))
        case .object(let members):
            out.append(UInt8(ascii: "{"))
            for (index, key) in members.keys.sorted().enumerated() {
                if index > 0 { out.append(UInt8(ascii: ",")) }
                Self.writeString(key, into: &out)
                out.append(UInt8(ascii: ":"))
                members[key]!.write(into: &out)
            }
            out.append(UInt8(ascii: "}"))
        }
    }

    /// A JSON string: quotes, backslashes and control characters escaped (RFC 8259), all other
    /// characters, `/` and non-ASCII ones included, as their UTF-8 bytes.
    private static func writeString(_ text: String, into out: inout [UInt8]) {
        out.append(UInt8(ascii: "\""))
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "\""): out += #"\""#.utf8
            case UInt8(ascii: "\\"): out += #"\\"#.utf8
            case UInt8(ascii: "\n"): out += #"\n"#.utf8
            case UInt8(ascii: "\r"): out += #"\r"#.utf8
            case UInt8(ascii: "\t"): out += #"\t"#.utf8
            case 0..<0x20:
                let hex = Array("0123456789abcdef".utf8)
                out += #"\u00"#.utf8
                out += [hex[Int(byte >> 4)], hex[Int(byte & 0xf)]]
            default: out.append(byte)
            }
        }
        out.append(UInt8(ascii: "\""))
    }

    /// Parses one JSON document.
    init(parsing bytes: some Collection<UInt8>) throws {
        self = try JSONDecoder().decode(JSONValue.self, from: Data(bytes))
    }
}

extension JSONValue: Decodable {
    init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        // JSONDecoder keeps the JSON types apart: a number never decodes as a Bool nor a Bool
        // as a number, and a number with a fraction or exponent never as an Int64.
        if container.decodeNil() {
            self = .null
        } else if let value = try? container.decode(Bool.self) {
            self = .bool(value)
        } else if let value = try? container.decode(Int64.self) {
            self = .integer(value)
        } else if let value = try? container.decode(Double.self) {
            self = .number(value)
        } else if let value = try? container.decode(String.self) {
            self = .string(value)
        } else if let value = try? container.decode([JSONValue].self) {
            self = .array(value)
        } else {
            self = .object(try container.decode([String: JSONValue].self))
        }
    }
}

/// A Swift value with a JSON form, so that the commands build documents from literals:
/// `["topic": name, "partitions": count, "leader": leader]`, optionals becoming null.
protocol JSONRepresentable {
    var json: JSONValue { get }
}

extension JSONValue: JSONRepresentable, ExpressibleByDictionaryLiteral, ExpressibleByArrayLiteral, ExpressibleByNilLiteral,
    ExpressibleByStringLiteral, ExpressibleByIntegerLiteral, ExpressibleByFloatLiteral, ExpressibleByBooleanLiteral
{
    var json: JSONValue { self }

    init(dictionaryLiteral members: (String, any JSONRepresentable)...) {
        self = .object(Dictionary(members.map { ($0, $1.json) }, uniquingKeysWith: { _, last in last }))
    }

    init(arrayLiteral elements: JSONValue...) {
        self = .array(elements)
    }

    init(nilLiteral: ()) {
        self = .null
    }

    init(stringLiteral value: String) {
        self = .string(value)
    }

    init(integerLiteral value: Int64) {
        self = .integer(value)
    }

    init(floatLiteral value: Double) {
        self = .number(value)
    }

    init(booleanLiteral value: Bool) {
        self = .bool(value)
    }
}

extension String: JSONRepresentable {
    var json: JSONValue { .string(self) }
}

extension Bool: JSONRepresentable {
    var json: JSONValue { .bool(self) }
}

extension Double: JSONRepresentable {
    var json: JSONValue { .number(self) }
}

extension Int: JSONRepresentable {
    var json: JSONValue { .integer(Int64(self)) }
}

extension Int64: JSONRepresentable {
    var json: JSONValue { .integer(self) }
}

extension Int32: JSONRepresentable {
    var json: JSONValue { .integer(Int64(self)) }
}

extension Int16: JSONRepresentable {
    var json: JSONValue { .integer(Int64(self)) }
}

extension Optional: JSONRepresentable where Wrapped: JSONRepresentable {
    var json: JSONValue { map(\.json) ?? .null }
}

extension Array: JSONRepresentable where Element: JSONRepresentable {
    var json: JSONValue { .array(map(\.json)) }
}

extension Dictionary: JSONRepresentable where Key == String, Value: JSONRepresentable {
    var json: JSONValue { .object(mapValues(\.json)) }
}
