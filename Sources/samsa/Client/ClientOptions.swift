import ArgumentParser
#if canImport(Glibc)
import Glibc
#endif
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import SamsaClient
import SamsaProtocol

/// The options every client command shares: the brokers and raw client properties.
struct ClientOptions: ParsableArguments {
    @Option(
        name: [.customShort("b"), .customLong("brokers")],
        help: ArgumentHelp("Bootstrap brokers, comma-separated (env SAMSA_BROKERS; default 127.0.0.1:9092).", valueName: "host:port"))
    var brokers: String?

    @Option(
        name: .customShort("X"), help: ArgumentHelp("A Kafka client property, e.g. -X client.id=tool (repeatable).", valueName: "key=value")
    )
    var properties: [String] = []

    /// The bootstrap servers: the option, else SAMSA_BROKERS, else the local default.
    var bootstrap: String {
        brokers ?? ProcessInfo.processInfo.environment["SAMSA_BROKERS"] ?? "127.0.0.1:9092"
    }

    /// The -X properties with `bootstrap.servers` filled in.
    func kafkaProperties(adding extra: [String: String] = [:]) throws -> [String: String] {
        var result = try parsePairs(properties, option: "-X")
        result["bootstrap.servers"] = result["bootstrap.servers"] ?? bootstrap
        for (key, value) in extra where result[key] == nil { result[key] = value }
        return result
    }
}

/// `--json`: the output as JSON for scripts instead of aligned tables.
struct OutputOptions: ParsableArguments {
    @Flag(help: "Print JSON (one document on one line, keys sorted) instead of a table.")
    var json = false
}

/// Turns client errors into one readable line, with the likely fix.
enum ClientErrorText {
    static func describe(_ error: any Error, brokers: String) -> String {
        switch error {
        case SamsaClientError.noBrokerAvailable(_, let lastError):
            return "cannot reach \(brokers)" + (lastError.map { ": \($0)" } ?? "") + " — is `samsa serve` running?"
        case let error as KafkaError where error.code == .unknownTopicOrPartition:
            return "topic '\(error.topic ?? "?")' does not exist"
        default:
            return "\(error)"
        }
    }
}

/// Writes bytes to standard output without buffering surprises.
enum StandardOutput {
    static func write(_ bytes: [UInt8]) {
        bytes.withUnsafeBufferPointer { buffer in
            var offset = 0
            while offset < buffer.count {
                let written = Glibc.write(1, buffer.baseAddress! + offset, buffer.count - offset)
                if written <= 0 { return }
                offset += written
            }
        }
    }

    static func write(_ text: String) {
        write(Array(text.utf8))
    }
}

/// Ends a command with one line on standard error and a failing exit code, with no stack trace.
enum CommandFailure {
    static func exit(_ message: String, code: Int32 = 1) -> ExitCode {
        let line = "samsa: \(message)\n"
        _ = line.withCString { Glibc.write(2, $0, strlen($0)) }
        return ExitCode(code)
    }
}
