import ArgumentParser
#if canImport(Glibc)
import Glibc
#endif
import Foundation
import NIOCore
import SamsaClient
import SamsaRecords

/// `samsa consume TOPIC`: prints records, formatted as kcat formats them.
struct ConsumeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "consume",
        abstract: "Print the records of a topic.",
        discussion: """
            Examples:
              samsa consume payments -e                  # everything there is, then exit
              samsa consume payments --from end          # only new records
              samsa consume payments --from -5 -e        # the last 5 of each partition
              samsa consume payments --group billing     # share the partitions with a group
              samsa consume payments -f '%p %o %k=%s\\n'  # kcat's format strings

            Format tokens: %t topic, %p partition, %o offset, %k key, %s value, %T timestamp,
            %h headers (k=v,...), %K key size, %S value size, %% a percent sign; escapes \\n \\t \\r \\\\.
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

    @Option(name: .customShort("c"), help: "Exit after this many records.")
    var count: Int?

    @Option(name: .customShort("f"), help: ArgumentHelp("A kcat format string.", valueName: "format"))
    var format: String = "%s\\n"

    @Flag(name: .customLong("read-committed"), help: "Skip records of open and aborted transactions.")
    var readCommitted = false

    func validate() throws {
        // Checked before any broker is asked, so a typo gets its own message.
        _ = try start(for: TopicPartition(topic, 0), end: 0)
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
        let formatter = try RecordFormatter(format)
        let consumer = try KafkaConsumer(configuration: configuration)
        do {
            try await consume(consumer, formatter: formatter)
        } catch {
            await consumer.close()
            throw CommandFailure.exit(ClientErrorText.describe(error, brokers: client.bootstrap))
        }
    }

    private func consume(_ consumer: KafkaConsumer, formatter: RecordFormatter) async throws {
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
        let limit = count
        let ends_ = ends
        let exitAtEnd = self.exitAtEnd
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                var printed = 0
                for try await record in consumer.records {
                    StandardOutput.write(formatter.format(record))
                    printed += 1
                    if let limit, printed >= limit { break }
                }
                await consumer.close()
            }
            if exitAtEnd {
                group.addTask {
                    // Checks the positions against the ends until every partition is read.
                    while !Task.isCancelled {
                        let positions = consumer.positions
                        if ends_.allSatisfy({ (positions[$0.key] ?? -1) >= $0.value }) { break }
                        try await Task.sleep(for: .milliseconds(20))
                    }
                    await consumer.close()
                }
            }
            try await group.next()
            group.cancelAll()
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
            if from.hasPrefix("@"), let timestamp = Int64(from.dropFirst()) { return .timestamp(timestamp) }
            if from.hasPrefix("-"), let last = Int64(from.dropFirst()), let end { return .offset(max(0, end - last)) }
            if let offset = Int64(from), offset >= 0 { return .offset(offset) }
            throw ValidationError("--from \(from): expected beginning, end, an offset, @timestamp-ms or -N")
        }
    }
}

/// kcat's `-f` format strings.
struct RecordFormatter: Sendable {
    private enum Token: Sendable {
        case text([UInt8])
        case topic, partition, offset, key, value, timestamp, headers, keySize, valueSize
    }

    private let tokens: [Token]

    init(_ format: String) throws {
        var tokens: [Token] = []
        var text: [UInt8] = []
        var characters = Array(format.utf8)[...]
        func flush() {
            if !text.isEmpty { tokens.append(.text(text)) }
            text = []
        }
        while let byte = characters.popFirst() {
            switch byte {
            case UInt8(ascii: "%"):
                guard let next = characters.popFirst() else { throw ValidationError("-f ends with a lone %") }
                let token: Token?
                switch next {
                case UInt8(ascii: "t"): token = .topic
                case UInt8(ascii: "p"): token = .partition
                case UInt8(ascii: "o"): token = .offset
                case UInt8(ascii: "k"): token = .key
                case UInt8(ascii: "s"): token = .value
                case UInt8(ascii: "T"): token = .timestamp
                case UInt8(ascii: "h"): token = .headers
                case UInt8(ascii: "K"): token = .keySize
                case UInt8(ascii: "S"): token = .valueSize
                case UInt8(ascii: "%"): token = nil
                default: throw ValidationError("-f: unknown token %\(Character(UnicodeScalar(next)))")
                }
                if let token {
                    flush()
                    tokens.append(token)
                } else {
                    text.append(UInt8(ascii: "%"))
                }
            case UInt8(ascii: "\\"):
                guard let next = characters.popFirst() else {
                    text.append(byte)
                    continue
                }
                switch next {
                case UInt8(ascii: "n"): text.append(10)
                case UInt8(ascii: "t"): text.append(9)
                case UInt8(ascii: "r"): text.append(13)
                case UInt8(ascii: "0"): text.append(0)
                default: text.append(next)
                }
            default:
                text.append(byte)
            }
        }
        flush()
        self.tokens = tokens
    }

    func format(_ record: ConsumerRecord) -> [UInt8] {
        var out: [UInt8] = []
        for token in tokens {
            switch token {
            case .text(let bytes): out += bytes
            case .topic: out += Array(record.topic.utf8)
            case .partition: out += Array(String(record.partition).utf8)
            case .offset: out += Array(String(record.offset).utf8)
            case .key: if let key = record.key { out += key.readableBytesView }
            case .value: if let value = record.value { out += value.readableBytesView }
            case .timestamp: out += Array(String(record.timestamp).utf8)
            case .headers:
                let parts = record.headers.map { header -> [UInt8] in
                    Array(header.key.utf8) + [UInt8(ascii: "=")] + (header.value.map { Array($0.readableBytesView) } ?? [])
                }
                for (index, part) in parts.enumerated() {
                    if index > 0 { out.append(UInt8(ascii: ",")) }
                    out += part
                }
            case .keySize: out += Array(String(record.key?.readableBytes ?? -1).utf8)
            case .valueSize: out += Array(String(record.value?.readableBytes ?? -1).utf8)
            }
        }
        return out
    }
}
