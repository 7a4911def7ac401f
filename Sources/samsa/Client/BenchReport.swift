#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
#if canImport(Glibc)
import Glibc
#endif
import Histogram
import NIOConcurrencyHelpers

/// Latencies in microseconds in an HDR histogram (3 significant digits, so a percentile is
/// within 0.1% of the value recorded), filled from delivery callbacks on any thread.
final class LatencyRecorder: Sendable {
    private let histogram = NIOLockedValueBox(Histogram<UInt64>(numberOfSignificantValueDigits: .three))

    func record(nanoseconds: UInt64) {
        _ = histogram.withLockedValue { $0.record(nanoseconds / 1000) }
    }

    var count: UInt64 { histogram.withLockedValue { $0.totalCount } }

    /// p50, p95, p99, p99.9 and max in milliseconds, with the count.
    var summary: LatencySummary {
        histogram.withLockedValue { histogram in
            func ms(_ percentile: Double) -> Double { Double(histogram.valueAtPercentile(percentile)) / 1000 }
            return LatencySummary(
                count: histogram.totalCount, p50: ms(50), p95: ms(95), p99: ms(99), p999: ms(99.9),
                max: histogram.totalCount == 0 ? 0 : Double(histogram.max) / 1000)
        }
    }
}

/// The latency percentiles of a run, in milliseconds.
struct LatencySummary {
    var count: UInt64
    var p50, p95, p99, p999, max: Double

    var json: JSONValue {
        [
            "count": Int(count), "p50": JSONOutput.milliseconds(p50), "p95": JSONOutput.milliseconds(p95),
            "p99": JSONOutput.milliseconds(p99), "p99_9": JSONOutput.milliseconds(p999), "max": JSONOutput.milliseconds(max),
        ]
    }
}

/// Counters a benchmark's tasks update and its progress line reads.
final class BenchCounters: Sendable {
    private struct Values {
        var records = 0
        var bytes = 0
        var failed = 0
        var received = 0
    }

    private let values = NIOLockedValueBox(Values())

    func delivered(_ records: Int, bytes: Int) {
        values.withLockedValue {
            $0.records += records
            $0.bytes += bytes
        }
    }
    func failed(_ records: Int) { values.withLockedValue { $0.failed += records } }
    /// Adds received records; returns the total received so far.
    func received(_ count: Int, bytes: Int) -> Int {
        values.withLockedValue { values in
            values.received += count
            values.bytes += bytes
            return values.received
        }
    }

    var records: Int { values.withLockedValue { $0.records } }
    var receivedRecords: Int { values.withLockedValue { $0.received } }
    var bytes: Int { values.withLockedValue { $0.bytes } }
    var failures: Int { values.withLockedValue { $0.failed } }
}

/// Progress lines (standard error, once a second) and the summary (standard output: a table, or
/// one JSON object with --json).
enum BenchReport {
    /// Prints a progress line every second until cancelled.
    static func progress(
        every interval: Duration = .seconds(1), start: ContinuousClock.Instant, _ line: @escaping @Sendable (Double) -> String
    ) -> Task<Void, Never> {
        Task {
            while true {
                do { try await Task.sleep(for: interval) } catch { return }
                let text = line(seconds(ContinuousClock.now - start)) + "\n"
                _ = text.withCString { write(2, $0, strlen($0)) }
            }
        }
    }

    /// "12000 records, 11.7 MB/s, 12000.0 records/s" for `records` and `bytes` after `seconds`.
    static func rate(records: Int, bytes: Int, seconds: Double) -> String {
        "\(records) records, \(format(Double(bytes) / max(seconds, 1e-9) / 1e6)) MB/s, \(format(Double(records) / max(seconds, 1e-9))) records/s"
    }

    static func summary(
        mode: String, records: Int, bytes: Int, failed: Int = 0, elapsed: Duration, latency: LatencySummary?,
        extra: [String: JSONValue] = [:], json: Bool
    ) {
        let seconds = seconds(elapsed)
        let recordsPerSecond = Double(records) / max(seconds, 1e-9)
        let megabytesPerSecond = Double(bytes) / max(seconds, 1e-9) / 1e6
        if json {
            let document: JSONValue = [
                "mode": mode, "records": records, "bytes": bytes, "failed": failed, "seconds": (seconds * 1e6).rounded() / 1e6,
                "records_per_second": (recordsPerSecond * 10).rounded() / 10, "mb_per_second": (megabytesPerSecond * 1000).rounded() / 1000,
                "latency_ms": latency?.json,
            ]
            return JSONOutput.write(document.merging(extra))
        }
        StandardOutput.write(
            Table.render([
                ["RECORDS", "SECONDS", "MB/S", "RECORDS/S", "FAILED"],
                ["\(records)", format(seconds, digits: 6), format(megabytesPerSecond), format(recordsPerSecond), "\(failed)"],
            ]))
        if let latency {
            StandardOutput.write(
                Table.render([
                    ["LATENCY MS", "P50", "P95", "P99", "P99.9", "MAX"],
                    [
                        "\(latency.count) records", format(latency.p50, digits: 3), format(latency.p95, digits: 3),
                        format(latency.p99, digits: 3), format(latency.p999, digits: 3), format(latency.max, digits: 3),
                    ],
                ]))
        }
    }

    static func seconds(_ duration: Duration) -> Double {
        Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
    }

    /// `value` with `digits` decimals, as printf's `%.*f` writes it.
    static func format(_ value: Double, digits: Int = 1) -> String {
        var text = [CChar](repeating: 0, count: 512)
        _ = withVaList([Int32(digits), value]) { vsnprintf(&text, text.count, "%.*f", $0) }
        return String(decoding: text.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
