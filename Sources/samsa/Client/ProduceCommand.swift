import ArgumentParser
#if canImport(Glibc)
import Glibc
#endif
import Foundation
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
        let input = try readInput()
        let producer = try KafkaProducer(configuration: configuration)
        let failures = NIOLockedValueBox<[String]>([])
        do {
            if transactionalId != nil {
                try await producer.initTransactions()
                try producer.beginTransaction()
            }
            for line in split(input) {
                var key: ByteBuffer?
                var value = ByteBuffer(bytes: line)
                if let keySeparator, let range = line.firstRange(of: Array(keySeparator.utf8)) {
                    key = ByteBuffer(bytes: line[..<range.lowerBound])
                    value = ByteBuffer(bytes: line[range.upperBound...])
                }
                let record = ProducerRecord(topic: topic, key: key, value: value, headers: recordHeaders, partition: partition)
                let verbose = self.verbose
                try await producer.sendWithoutWaiting(record) { result in
                    switch result {
                    case .success(let written):
                        if verbose { StandardOutput.write("\(written.topic)\t\(written.partition)\t\(written.offset)\n") }
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
        let separator = Array(delimiter.replacingOccurrences(of: "\\n", with: "\n").utf8)
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
