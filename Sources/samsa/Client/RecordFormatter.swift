import ArgumentParser
import NIOCore
import SamsaClient
import SamsaRecords

/// kcat's `-f` format strings, printed byte for byte as kcat 1.7 prints them (format.c), so
/// scripts written for kcat keep working:
///
/// - `%k` and `%s` print nothing for a null or empty key or value; `%K` and `%S` print their
///   length, -1 for null; `%R` is the value length as a 4-byte big-endian integer (-1 for null).
/// - `%h` prints `name=value` pairs joined by commas, `NULL` for a null header value, nothing for
///   a record without headers; a header value ends at its first byte 0.
/// - Escapes in the literal text: `\n \r \t`, `\` and digits for a byte value (C's `strtoul`
///   with base 0: `\0` octal, `\0x41` hex, `\65` decimal), `\x` and hex digits, and `\` before
///   any other character for that character. A byte 0 ends the literal text it is in, as kcat
///   keeps literals as C strings.
struct RecordFormatter: Sendable {
    private enum Token: Sendable {
        case text([UInt8])
        case topic, partition, offset, key, keySize, value, valueSize, valueSizeBinary, timestamp, headers
    }

    private let tokens: [Token]

    init(_ format: String) throws {
        var tokens: [Token] = []
        let bytes = Array(format.utf8)
        var start = 0
        var index = 0
        func addText(_ range: Range<Int>) {
            let text = Self.unescape(bytes[range])
            if !text.isEmpty { tokens.append(.text(text)) }
        }
        while index < bytes.count {
            guard bytes[index] == UInt8(ascii: "%") else {
                index += 1
                continue
            }
            // Like kcat, escapes are converted within each literal between two tokens.
            addText(start..<index)
            guard index + 1 < bytes.count else { throw ValidationError("-f: the format ends with a lone %") }
            switch bytes[index + 1] {
            case UInt8(ascii: "t"): tokens.append(.topic)
            case UInt8(ascii: "p"): tokens.append(.partition)
            case UInt8(ascii: "o"): tokens.append(.offset)
            case UInt8(ascii: "k"): tokens.append(.key)
            case UInt8(ascii: "K"): tokens.append(.keySize)
            case UInt8(ascii: "s"): tokens.append(.value)
            case UInt8(ascii: "S"): tokens.append(.valueSize)
            case UInt8(ascii: "R"): tokens.append(.valueSizeBinary)
            case UInt8(ascii: "T"): tokens.append(.timestamp)
            case UInt8(ascii: "h"): tokens.append(.headers)
            case UInt8(ascii: "%"): tokens.append(.text([UInt8(ascii: "%")]))
            case let other:
                throw ValidationError("-f: unknown token %\(Character(Unicode.Scalar(other)))")
            }
            index += 2
            start = index
        }
        addText(start..<bytes.count)
        self.tokens = tokens
    }

    /// Appends `record` formatted to `out`.
    func format(_ record: ConsumerRecord, into out: inout [UInt8]) {
        for token in tokens {
            switch token {
            case .text(let bytes): out += bytes
            case .topic: out += record.topic.utf8
            case .partition: out += String(record.partition).utf8
            case .offset: out += String(record.offset).utf8
            case .key: if let key = record.key { out += key.readableBytesView }
            case .keySize: out += String(record.key?.readableBytes ?? -1).utf8
            case .value: if let value = record.value { out += value.readableBytesView }
            case .valueSize: out += String(record.value?.readableBytes ?? -1).utf8
            case .valueSizeBinary:
                let size = UInt32(bitPattern: Int32(record.value?.readableBytes ?? -1))
                out += [
                    UInt8(truncatingIfNeeded: size >> 24), UInt8(truncatingIfNeeded: size >> 16), UInt8(truncatingIfNeeded: size >> 8),
                    UInt8(truncatingIfNeeded: size),
                ]
            case .timestamp: out += String(record.timestamp).utf8
            case .headers:
                for (index, header) in record.headers.enumerated() {
                    if index > 0 { out.append(UInt8(ascii: ",")) }
                    // kcat prints names and values with printf's %s: each ends at its first byte 0.
                    out += header.key.utf8.prefix { $0 != 0 }
                    out.append(UInt8(ascii: "="))
                    if let value = header.value { out += value.readableBytesView.prefix { $0 != 0 } } else { out += "NULL".utf8 }
                }
            }
        }
    }

    /// The literal `text` with kcat's escapes converted, cut at the first byte 0.
    static func unescape(_ text: ArraySlice<UInt8>) -> [UInt8] {
        let text = Array(text)
        var out: [UInt8] = []
        var index = 0
        while index < text.count {
            guard text[index] == UInt8(ascii: "\\"), index + 1 < text.count else {
                out.append(text[index])
                index += 1
                continue
            }
            index += 1
            var base = 0
            switch text[index] {
            case UInt8(ascii: "t"): out.append(9)
            case UInt8(ascii: "n"): out.append(10)
            case UInt8(ascii: "r"): out.append(13)
            default:
                if text[index] == UInt8(ascii: "x") {
                    index += 1
                    base = 16
                }
                // kcat tests for a decimal digit even after \x, so `\xff` is just "f".
                if index < text.count, text[index] >= UInt8(ascii: "0"), text[index] <= UInt8(ascii: "9") {
                    let (value, next) = strtoul(text, from: index, base: base)
                    out.append(UInt8(truncatingIfNeeded: value))
                    index = next - 1
                } else {
                    out.append(index < text.count ? text[index] : 0)
                }
            }
            index += 1
        }
        if let zero = out.firstIndex(of: 0) { out.removeSubrange(zero...) }
        return out
    }

    /// C's `strtoul` on `text` from `start` (a decimal digit) in `base` 0 or 16: the value,
    /// saturated at the maximum, and the index after the digits read.
    private static func strtoul(_ text: [UInt8], from start: Int, base: Int) -> (UInt64, Int) {
        func digit(_ byte: UInt8) -> UInt64? {
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): UInt64(byte - UInt8(ascii: "0"))
            case UInt8(ascii: "a")...UInt8(ascii: "z"): UInt64(byte - UInt8(ascii: "a") + 10)
            case UInt8(ascii: "A")...UInt8(ascii: "Z"): UInt64(byte - UInt8(ascii: "A") + 10)
            default: nil
            }
        }
        var index = start
        var radix = UInt64(base)
        let hexPrefix =
            text[index] == UInt8(ascii: "0") && index + 2 < text.count && (text[index + 1] | 0x20) == UInt8(ascii: "x")
            && (digit(text[index + 2]).map { $0 < 16 } ?? false)
        if (base == 0 || base == 16) && hexPrefix {
            radix = 16
            index += 2
        } else if base == 0 {
            radix = text[index] == UInt8(ascii: "0") ? 8 : 10
        }
        var value: UInt64 = 0
        var overflow = false
        while index < text.count, let next = digit(text[index]), next < radix {
            let (multiplied, overflowA) = value.multipliedReportingOverflow(by: radix)
            let (added, overflowB) = multiplied.addingReportingOverflow(next)
            overflow = overflow || overflowA || overflowB
            value = added
            index += 1
        }
        return (overflow ? UInt64.max : value, index)
    }
}
