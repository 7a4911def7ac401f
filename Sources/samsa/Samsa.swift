import ArgumentParser

/// The `samsa` command: one executable for the broker and the tools.
@main
struct Samsa: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "samsa",
        abstract: "Samsa: a Kafka-compatible event streaming platform.",
        version: SamsaVersion.current,
        subcommands: []
    )
}

enum SamsaVersion {
    static let current = "0.1.0"
}
