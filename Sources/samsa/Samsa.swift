import ArgumentParser
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
#if canImport(Glibc)
import Glibc
#endif

/// The `samsa` command: one executable for the broker and the tools.
@main
struct Samsa: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "samsa",
        abstract: "Samsa: a Kafka-compatible event streaming platform.",
        discussion: """
            Examples:
              samsa serve                                   # a broker on 127.0.0.1:9092
              samsa topic create payments -p 6
              echo 'hello' | samsa produce payments
              samsa consume payments -e
              samsa group describe billing
              samsa cluster --json

            Client commands find the brokers in -b, $SAMSA_BROKERS or 127.0.0.1:9092.
            Commands that print take --json for scripts: one JSON document on one
            line (consume and produce -v: one per record), keys sorted.

            Exit status:
              0  success
              1  failure: a broker unreachable, a topic missing, records not delivered
              2  bad usage: an unknown option or malformed value (one line on stderr)
            """,
        version: SamsaVersion.current,
        subcommands: [
            ServeCommand.self, ProduceCommand.self, ConsumeCommand.self, TopicCommand.self, GroupCommand.self, ClusterCommand.self,
            OffsetsCommand.self, BenchCommand.self,
        ]
    )

    /// Runs the chosen command. Errors end as one `samsa: ...` line on standard error with the
    /// documented exit status (2 for usage, where ArgumentParser would use 64 and print the usage).
    static func main() async {
        do {
            var command = try parseAsRoot()
            if var asyncCommand = command as? any AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
        } catch {
            let code = exitCode(for: error)
            if error is ExitCode || code == .success { exit(withError: error) }
            let message = message(for: error).split(separator: "\n").map { $0.trimmingWhitespace() }
            var line = "samsa: " + message.filter { !$0.isEmpty }.joined(separator: "; ")
            if code == .validationFailure, let usage = usageHint(for: error) { line += " (see \(usage))" }
            line += "\n"
            _ = line.withCString { Glibc.write(2, $0, strlen($0)) }
            Glibc.exit(code == .validationFailure ? 2 : 1)
        }
    }

    /// "samsa consume --help" for an error while parsing `samsa consume ...`.
    private static func usageHint(for error: any Error) -> String? {
        let words = CommandLine.arguments.dropFirst().prefix { !$0.hasPrefix("-") }
        var command: any ParsableCommand.Type = Samsa.self
        var path = ["samsa"]
        for word in words {
            guard let next = command.configuration.subcommands.first(where: { $0._commandName == word }) else { break }
            command = next
            path.append(word)
        }
        return path.joined(separator: " ") + " --help"
    }
}

/// `samsa bench`: measurements of Samsa's own building blocks.
struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Measure the throughput of Samsa's building blocks and of SamsaClient.",
        discussion: """
            Examples:
              samsa bench produce --records 500000 --acks all --json
              samsa bench consume --records 500000
              samsa bench e2e --duration 30 --partitions 6
              samsa bench records
              samsa bench storage
            """,
        subcommands: [
            BenchProduceCommand.self, BenchConsumeCommand.self, BenchE2ECommand.self, BenchRecordsCommand.self, BenchStorageCommand.self,
        ]
    )
}

enum SamsaVersion {
    static let current = "0.1.0"
}

extension Substring {
    /// The text without leading and trailing spaces and tabs.
    fileprivate func trimmingWhitespace() -> Substring {
        func isBlank(_ character: Character) -> Bool { character == " " || character == "\t" }
        guard let first = firstIndex(where: { !isBlank($0) }), let last = lastIndex(where: { !isBlank($0) }) else { return "" }
        return self[first...last]
    }
}
