import ArgumentParser

/// The `samsa` command: one executable for the broker and the tools.
@main
struct Samsa: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "samsa",
        abstract: "Samsa: a Kafka-compatible event streaming platform.",
        version: SamsaVersion.current,
        subcommands: [
            ServeCommand.self, ProduceCommand.self, ConsumeCommand.self, TopicCommand.self, GroupCommand.self, ClusterCommand.self,
            OffsetsCommand.self, BenchCommand.self,
        ]
    )
}

/// `samsa bench`: measurements of Samsa's own building blocks.
struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Measure the throughput of Samsa's building blocks and of SamsaClient.",
        subcommands: [BenchProduceCommand.self, BenchConsumeCommand.self, BenchRecordsCommand.self, BenchStorageCommand.self]
    )
}

enum SamsaVersion {
    static let current = "0.1.0"
}
