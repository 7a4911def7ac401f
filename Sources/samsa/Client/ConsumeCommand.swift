import ArgumentParser
#if canImport(Glibc)
import Glibc
#endif
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import NIOCore
import SamsaClient
import SamsaRecords

/// `samsa consume TOPIC`: prints records, formatted as kcat formats them or as JSON lines.
struct ConsumeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "consume",
        abstract: "Print the records of a topic.",
        discussion: """
            Examples:
              samsa consume payments -e                 # everything there is, then exit
              samsa consume payments --from end         # only new records
              samsa consume payments --from -5 -e       # the last 5 of each partition
              samsa consume payments --from @1700000000000 -e   # from a time (ms)
              samsa consume payments --group billing    # share partitions with a group
              samsa consume payments -f '%p %o %k=%s\\n' # kcat's format strings
              samsa consume payments -e --json | jq .value
              samsa consume payments -e --grep 'user-4[0-9]'   # matching records only

            Format tokens (-f), printed byte for byte as kcat prints them: %t topic, \
            %p partition, %o offset, %k key, %s value, %T timestamp (ms), %h headers \
            (k=v,k2=v2; NULL for a null value), %K key size, %S value size (-1 for \
            null), %R value size as 4 big-endian bytes, %% a percent sign. Escapes: \
            \\n \\r \\t \\\\, \\xHH and \\NNN for a byte.

            --json prints one object per record and line: topic, partition, offset, \
            timestamp, key, value and headers ([{"key": name, "value": value}]). Keys \
            and values are UTF-8 text, or base64 when they are not valid UTF-8, marked \
            by "key_encoding", "value_encoding" (and per header "value_encoding") set \
            to "base64". Null stays null. `samsa produce --json` reads these lines back.

            --grep takes a regular expression (the syntax of Swift's Regex, as PCRE and \
            Java write them; (?i) for any case). A record matches when the expression is found in its \
            key, its value, or one of its headers written as name=value; bytes that are \
            not UTF-8 are searched as U+FFFD. -c counts matching records only.
            """
    )

    @Argument(help: "The topic to read.")
    var topic: String

    @OptionGroup var client: ClientOptions

    @Option(help: ArgumentHelp("Where to start: beginning, end, an offset, @timestamp-ms, or -N (the last N).", valueName: "position"))
    var from: String = "beginning"

    @Option(name: .customShort("p"), help: "Read only this partition.")
    var partition: Int32?

    @Option(name: [.customShort("g"), .customLong("group")], help: "Read as a member of this consumer group (its offsets are committed).")
    var group: String?

    @Flag(name: .customShort("e"), help: "Exit once the end of every partition (as it was at the start) is reached.")
    var exitAtEnd = false

    @Option(name: .customShort("c"), help: "Exit after printing this many records.")
    var count: Int?

    @Option(name: .customShort("f"), help: ArgumentHelp("A kcat format string (default %s\\n).", valueName: "format"))
    var format: String?

    @Flag(help: "Print one JSON object per record and line (see below).")
    var json = false

    @Option(help: ArgumentHelp("Print only records whose key, value or a header matches this regular expression.", valueName: "regex"))
    var grep: String?

    @Flag(name: .customLong("read-committed"), help: "Skip records of open and aborted transactions.")
    var readCommitted = false

    func validate() throws {
        // Checked before any broker is asked, so a typo gets its own message.
        _ = try start(for: TopicPartition(topic, 0), end: 0)
        if json && format != nil { throw ValidationError("choose one of -f and --json") }
        if let count, count < 1 { throw ValidationError("-c \(count): expected a positive count") }
        _ = try output()
        _ = try grep.map(RecordMatcher.init)
    }

    func run() async throws {
        var extra = ["enable.auto.commit": group == nil ? "false" : "true"]
        if let group { extra["group.id"] = group }
        if readCommitted { extra["isolation.level"] = "read_committed" }
        extra["auto.offset.reset"] = from == "end" ? "latest" : "earliest"
        let configuration: ConsumerConfiguration
        do {
            configuration = try ConsumerConfiguration(properties: try client.kafkaProperties(adding: extra))
        } catch {
            throw ValidationError("\(error)")
        }
        let output = try output()
        let matcher = try grep.map(RecordMatcher.init)
        let consumer = try KafkaConsumer(configuration: configuration)
        do {
            try await consume(consumer, output: output, matcher: matcher)
        } catch let error as ValidationError {
            await consumer.close()
            throw error
        } catch {
            await consumer.close()
            throw CommandFailure.exit(ClientErrorText.describe(error, brokers: client.bootstrap))
        }
    }

    private func output() throws -> RecordOutput {
        json ? .json : .format(try RecordFormatter(format ?? "%s\\n"))
    }

    private func consume(_ consumer: KafkaConsumer, output: RecordOutput, matcher: RecordMatcher?) async throws {
        let partitions = try await partitionsOfTopic(consumer)
        var ends: [TopicPartition: Int64] = [:]
        if exitAtEnd || from.hasPrefix("-") {
            ends = try await consumer.endOffsets(partitions)
        }
        if group != nil {
            try consumer.subscribe([topic])
        } else {
            var assignment: [TopicPartition: OffsetSpec] = [:]
            for partition in partitions { assignment[partition] = try start(for: partition, end: ends[partition]) }
            try await consumer.assign(assignment)
        }
        let end = exitAtEnd ? EndOfPartitions(consumer: consumer, ends: ends) : nil
        // Every partition empty (or the start past the end): nothing to wait for.
        if let end, end.reached {
            await consumer.close()
            return
        }
        let limit = count
        let subscribed = group != nil
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask {
                var printed = 0
                let matches = matcher?.predicate()
                batches: for try await batch in consumer.batches {
                    var out: [UInt8] = []
                    for record in batch where matches?(record) ?? true {
                        output.append(record, to: &out)
                        printed += 1
                        if let limit, printed >= limit {
                            StandardOutput.write(out)
                            // The batch moved the position past records not printed; a group would
                            // commit that position at close and skip them next time.
                            try await consumer.seek(TopicPartition(record.topic, record.partition), to: .offset(record.offset + 1))
                            break batches
                        }
                    }
                    StandardOutput.write(out)
                    // Handing out a batch moves its partition past it (and past the transaction
                    // markers after it): the moment to compare with the ends.
                    if let end, end.reached { break }
                }
                await consumer.close()
            }
            if let end, subscribed {
                tasks.addTask {
                    // A group assigns partitions at their committed offsets, which may be the ends already.
                    for await _ in consumer.rebalanceEvents where end.reached { break }
                    await consumer.close()
                }
            }
            if let end {
                tasks.addTask {
                    // A fetch that brings only transaction markers or aborted records moves the
                    // position without handing out a batch (a read_committed read of an aborted
                    // tail); the consumer reports reaching a partition's end.
                    for await _ in consumer.partitionEnds where end.reached { break }
                    await consumer.close()
                }
            }
            try await tasks.next()
            tasks.cancelAll()
        }
        await consumer.close()
    }

    private func partitionsOfTopic(_ consumer: KafkaConsumer) async throws -> [TopicPartition] {
        let count = try await consumer.partitionCount(of: topic)
        if let partition {
            guard partition >= 0, partition < count else { throw ValidationError("topic '\(topic)' has no partition \(partition)") }
            return [TopicPartition(topic, partition)]
        }
        return (0..<Int32(count)).map { TopicPartition(topic, $0) }
    }

    private func start(for partition: TopicPartition, end: Int64?) throws -> OffsetSpec {
        switch from {
        case "beginning", "earliest", "start": return .earliest
        case "end", "latest": return .latest
        default:
            if from.hasPrefix("@"), let timestamp = TimeText.milliseconds(String(from.dropFirst())) { return .timestamp(timestamp) }
            if from.hasPrefix("-"), let last = Int64(from.dropFirst()), let end { return .offset(max(0, end - last)) }
            if let offset = Int64(from), offset >= 0 { return .offset(offset) }
            throw ValidationError("--from \(from): expected beginning, end, an offset, @time (ms or ISO 8601) or -N")
        }
    }
}

/// Whether a consumer has read its partitions up to the end offsets taken at the start.
private struct EndOfPartitions: Sendable {
    let consumer: KafkaConsumer
    let ends: [TopicPartition: Int64]

    /// True once every assigned partition's position is at or past its end (in a group, the
    /// partitions this member was given).
    var reached: Bool {
        let assigned = consumer.assignment
        guard !assigned.isEmpty else { return false }
        let positions = consumer.positions
        return assigned.allSatisfy { partition in
            guard let end = ends[partition] else { return true }
            return (positions[partition] ?? -1) >= end
        }
    }
}

/// How `samsa consume` prints a record.
enum RecordOutput: Sendable {
    case format(RecordFormatter)
    case json

    func append(_ record: ConsumerRecord, to out: inout [UInt8]) {
        switch self {
        case .format(let formatter): formatter.format(record, into: &out)
        case .json: JSONOutput.append(RecordJSON.object(record), to: &out)
        }
    }
}

/// `--grep`: a regular expression searched in a record's key, value and headers (`name=value`).
/// A `Regex` is not `Sendable`, so the matcher keeps the pattern, checked when it is made, and
/// the task that filters records compiles it for itself with ``predicate()``.
struct RecordMatcher: Sendable {
    private let pattern: String

    init(_ pattern: String) throws {
        do {
            _ = try Regex(pattern)
        } catch {
            throw ValidationError("--grep \(pattern): not a valid regular expression")
        }
        self.pattern = pattern
    }

    /// Whether a record matches, for the calling task only.
    func predicate() -> (ConsumerRecord) -> Bool {
        // The pattern compiled in init; it compiles the same way again.
        let expression = try! Regex(pattern)
        return { record in Self.matches(record, expression) }
    }

    private static func matches(_ record: ConsumerRecord, _ expression: Regex<AnyRegexOutput>) -> Bool {
        func found(_ text: String) -> Bool {
            text.contains(expression)
        }
        if let key = record.key, found(String(decoding: key.readableBytesView, as: UTF8.self)) { return true }
        if let value = record.value, found(String(decoding: value.readableBytesView, as: UTF8.self)) { return true }
        return record.headers.contains { header in
            found(header.key + "=" + (header.value.map { String(decoding: $0.readableBytesView, as: UTF8.self) } ?? ""))
        }
    }
}
