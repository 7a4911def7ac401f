#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Times and durations as users type them: ms since the epoch or ISO 8601 date-times, and
/// ISO 8601 durations (as Kafka's `--by-duration` takes) or short forms like `15m`.
enum TimeText {
    /// `1700000000000` or `2026-12-04T10:00:00Z` (fractional seconds and offsets allowed).
    static func milliseconds(_ text: String) -> Int64? {
        if let value = Int64(text), value >= 0 { return value }
        // The style with fractional seconds also reads times without them.
        let date = try? Date.ISO8601FormatStyle(includingFractionalSeconds: true).parse(text)
        return date.map { Int64(($0.timeIntervalSince1970 * 1000).rounded()) }
    }

    /// `PT15M`, `P1DT2H30M`, `PT0.5S`, or `30s`, `15m`, `2h`, `7d`, `250ms`.
    static func durationMilliseconds(_ text: String) -> Int64? {
        let upper = text.uppercased()
        if upper.hasPrefix("P") { return iso8601Duration(upper.dropFirst()) }
        for (suffix, unit) in [("ms", 1.0), ("s", 1000.0), ("m", 60_000.0), ("h", 3_600_000.0), ("d", 86_400_000.0)] {
            if text.hasSuffix(suffix), let value = Double(text.dropLast(suffix.count)), value >= 0 {
                return Int64(value * unit)
            }
        }
        return nil
    }

    /// The part after `P`: days before `T`; hours, minutes and seconds after it.
    private static func iso8601Duration(_ text: Substring) -> Int64? {
        var total = 0.0
        var number = ""
        var inTime = false
        var sawField = false
        for character in text {
            switch character {
            case "T":
                guard !inTime, number.isEmpty else { return nil }
                inTime = true
            case "0"..."9", ".":
                number.append(character)
            default:
                guard let value = Double(number) else { return nil }
                let unit: Double
                switch (character, inTime) {
                case ("D", false): unit = 86_400_000
                case ("W", false): unit = 7 * 86_400_000
                case ("H", true): unit = 3_600_000
                case ("M", true): unit = 60_000
                case ("S", true): unit = 1000
                default: return nil
                }
                total += value * unit
                number = ""
                sawField = true
            }
        }
        guard number.isEmpty, sawField else { return nil }
        return Int64(total)
    }

    static func nowMilliseconds() -> Int64 {
        Int64(Date().timeIntervalSince1970 * 1000)
    }
}
