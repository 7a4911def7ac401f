import ArgumentParser
#if canImport(Glibc)
import Glibc
#endif
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import NIOConcurrencyHelpers
import NIOCore
import SamsaClient
import SamsaRecords

/// `samsa produce TOPIC`: records from standard input or a file, one per line.
struct ProduceCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "produce",
        abstract: "Produce records from standard input or a file, one per line.",
        discussion: """
            Examples:
              echo 'hello' | samsa produce greetings
              printf 'user-1:{"amount":10}\\n' | samsa produce payments -K :
              samsa produce events --file events.txt -H source=import -z zstd -v
              samsa produce out --transactional-id copier < records.txt
              echo '{"key": "k", "value": "v", "headers": {"source": "cli"}}' |
                samsa produce payments --json
              samsa consume a -e --json | samsa produce b --json   # a copy of a

            --json reads one JSON object per line: "key", "value", "headers" (an \
            object, a list of [name, value] pairs, or a list of {"key", "value"} \
            objects), "partition" and "timestamp" (ms), each optional. Keys and values \
            are UTF-8 text unless a sibling "key_encoding" or "value_encoding" says \
            "base64" (as `samsa consume --json` prints them). The whole input is \
            checked before anything is sent. With -v the delivery reports are JSON \
            too: {"topic", "partition", "offset", "timestamp"}.

            Exit status: 0 when every record was acknowledged, 1 when any failed, 2 \
            for bad input.
            """
    )

    @Argument(help: "The topic to write to.")
    var topic: String

    @OptionGroup var client: ClientOptions

    @Option(
        name: .customShort("K"),
        help: ArgumentHelp("Split each line into key and value at the first occurrence of this separator.", valueName: "separator"))
    var keySeparator: String?

    @Option(name: .customShort("H"), help: ArgumentHelp("A header for every record (repeatable).", valueName: "key=value"))
    var headers: [String] = []

    @Option(name: .customShort("p"), help: "Write every record to this partition (default: by key, or sticky without a key).")
    var partition: Int32?

    @Option(name: .customShort("D"), help: ArgumentHelp("The record delimiter (default: a newline).", valueName: "delimiter"))
    var delimiter: String = "\n"

    @Option(name: .customLong("file"), help: "Read records from this file instead of standard input.")
    var file: String?

    @Option(help: "Acknowledgements: all, 1 or 0.")
    var acks: String = "all"

    @Option(name: [.customShort("z"), .customLong("compression")], help: "none, gzip, snappy, lz4 or zstd.")
    var compression: String = "none"

    @Option(name: .customLong("linger-ms"), help: "How long a batch waits for more records.")
    var lingerMs: Int = 5

    @Option(name: .customLong("transactional-id"), help: "Write every record in one transaction with this id.")
    var transactionalId: String?

    @Flag(help: "With --transactional-id: abort the transaction at the end instead of committing it.")
    var abort = false

    @Flag(name: .customShort("v"), help: "Print a delivery report per record: topic, partition, offset.")
    var verbose = false

    @Flag(help: "Read one JSON object per line (see below); with -v, print JSON delivery reports.")
    var json = false

    func validate() throws {
        if json && keySeparator != nil { throw ValidationError("choose one of -K and --json (a JSON line has its own key)") }
    }

    func run() async throws {
        var extra = ["acks": acks, "compression.type": compression, "linger.ms": String(lingerMs)]
        if acks != "all" && acks != "-1" { extra["enable.idempotence"] = "false" }
        if let transactionalId { extra["transactional.id"] = transactionalId }
        let configuration: ProducerConfiguration
        do {
            configuration = try ProducerConfiguration(properties: try client.kafkaProperties(adding: extra))
        } catch {
            throw ValidationError("\(error)")
        }
        let recordHeaders = try headers.map { entry -> RecordHeader in
            guard let equals = entry.firstIndex(of: "=") else { throw ValidationError("-H \(entry): expected key=value") }
            return RecordHeader(key: String(entry[..<equals]), value: ByteBuffer(string: String(entry[entry.index(after: equals)...])))
        }
        let records = try parseRecords(try readInput(), headers: recordHeaders)
        let producer = try KafkaProducer(configuration: configuration)
        let failures = NIOLockedValueBox<[String]>([])
        do {
            if transactionalId != nil {
                try await producer.initTransactions()
                try producer.beginTransaction()
            }
            let verbose = self.verbose
            let json = self.json
            for record in records {
                try await producer.sendWithoutWaiting(record) { result in
                    switch result {
                    case .success(let written):
                        guard verbose else { return }
                        if json {
                            JSONOutput.write([
                                "topic": written.topic, "partition": Int(written.partition), "offset": written.offset,
                                "timestamp": written.timestamp,
                            ])
                        } else {
                            StandardOutput.write("\(written.topic)\t\(written.partition)\t\(written.offset)\n")
                        }
                    case .failure(let error):
                        failures.withLockedValue { $0.append("\(error)") }
                    }
                }
            }
            if transactionalId != nil {
                if abort {
                    // Written first, then aborted: read_uncommitted consumers still see them.
                    await producer.flush()
                    try await producer.abortTransaction()
                } else {
                    try await producer.commitTransaction()
                }
            }
            await producer.close()
        } catch {
            await producer.close()
            throw CommandFailure.exit(ClientErrorText.describe(error, brokers: client.bootstrap))
        }
        let failed = failures.withLockedValue { $0 }
        if let first = failed.first {
            throw CommandFailure.exit("\(failed.count) records failed; the first: \(first)")
        }
    }

    /// The records of the input: one per delimited line, as text with -K, or as JSON objects.
    private func parseRecords(_ input: [UInt8], headers: [RecordHeader]) throws -> [ProducerRecord] {
        try split(input).enumerated().map { index, line in
            if json {
                var record = try RecordJSON.record(line, topic: topic, lineNumber: index + 1)
                record.headers += headers
                if record.partition == nil { record.partition = partition }
                return record
            }
            var key: ByteBuffer?
            var value = ByteBuffer(bytes: line)
            if let keySeparator, let range = line.firstRange(of: Array(keySeparator.utf8)) {
                key = ByteBuffer(bytes: line[..<range.lowerBound])
                value = ByteBuffer(bytes: line[range.upperBound...])
            }
            return ProducerRecord(topic: topic, key: key, value: value, headers: headers, partition: partition)
        }
    }

    private func readInput() throws -> [UInt8] {
        if let file {
            guard let data = FileManager.default.contents(atPath: file) else { throw ValidationError("cannot read \(file)") }
            return Array(data)
        }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65_536)
        while true {
            let count = chunk.withUnsafeMutableBytes { Glibc.read(0, $0.baseAddress, $0.count) }
            if count <= 0 { break }
            bytes += chunk[0..<count]
        }
        return bytes
    }

    /// The records of `input`: split at the delimiter; a trailing empty record is dropped.
    private func split(_ input: [UInt8]) -> [ArraySlice<UInt8>] {
        let separator = Array(delimiter.replacing("\\n", with: "\n").utf8)
        var records: [ArraySlice<UInt8>] = []
        var start = input.startIndex
        var index = input.startIndex
        while index + separator.count <= input.endIndex {
            if input[index..<index + separator.count].elementsEqual(separator) {
                records.append(input[start..<index])
                index += separator.count
                start = index
            } else {
                index += 1
            }
        }
        if start < input.endIndex { records.append(input[start...]) }
        return records
    }
}
