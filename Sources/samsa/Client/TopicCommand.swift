import ArgumentParser
import SamsaClient

/// `samsa topic`: list, describe, create, delete and configure topics.
struct TopicCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "topic",
        abstract: "List, describe, create, delete and configure topics.",
        subcommands: [List.self, Describe.self, Create.self, Delete.self, AddPartitions.self, Config.self]
    )

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List the topics.")
        @OptionGroup var client: ClientOptions
        @Flag(help: "Include internal topics (__consumer_offsets, __transaction_state).") var all = false

        func run() async throws {
            try await withAdmin(client) { admin in
                for name in try await admin.listTopics(includeInternal: all) { StandardOutput.write(name + "\n") }
            }
        }
    }

    struct Describe: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show a topic's partitions, leaders, offsets and non-default configs.")
        @OptionGroup var client: ClientOptions
        @Argument(help: "The topic.") var topic: String

        func run() async throws {
            try await withAdmin(client) { admin in
                guard let described = try await admin.describeTopics([topic]).first else { return }
                let partitions = described.partitions.map { TopicPartition(topic, $0.index) }
                let starts = try await admin.listOffsets(Dictionary(uniqueKeysWithValues: partitions.map { ($0, OffsetSpec.earliest) }))
                let ends = try await admin.listOffsets(Dictionary(uniqueKeysWithValues: partitions.map { ($0, OffsetSpec.latest) }))
                StandardOutput.write("topic \(topic)  partitions \(described.partitions.count)  id \(described.id)\n")
                var rows = [["PARTITION", "LEADER", "EPOCH", "START", "END"]]
                for partition in described.partitions {
                    let key = TopicPartition(topic, partition.index)
                    rows.append([
                        "\(partition.index)", "\(partition.leader)", "\(partition.leaderEpoch)", "\(starts[key] ?? -1)",
                        "\(ends[key] ?? -1)",
                    ])
                }
                StandardOutput.write(Table.render(rows))
                let configs = try await admin.describeTopicConfigs(topic).filter { !$0.value.isDefault }
                if !configs.isEmpty {
                    StandardOutput.write("configs:\n")
                    for (name, value) in configs.sorted(by: { $0.key < $1.key }) {
                        StandardOutput.write("  \(name)=\(value.value ?? "")\n")
                    }
                }
            }
        }
    }

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Create a topic.", discussion: "Example: samsa topic create payments -p 6 -c retention.ms=86400000")
        @OptionGroup var client: ClientOptions
        @Argument(help: "The topic.") var topic: String
        @Option(name: [.customShort("p"), .long], help: "Partitions (default: the broker's num.partitions).") var partitions: Int32 = -1
        @Option(
            name: [.customShort("c"), .customLong("config")], help: ArgumentHelp("A topic config (repeatable).", valueName: "key=value"))
        var configs: [String] = []

        func run() async throws {
            let parsed = try parsePairs(configs, option: "-c")
            try await withAdmin(client) { admin in
                try await admin.createTopic(NewTopic(name: topic, partitions: partitions, configs: parsed))
                StandardOutput.write("created \(topic)\n")
            }
        }
    }

    struct Delete: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Delete topics.")
        @OptionGroup var client: ClientOptions
        @Argument(help: "The topics.") var topics: [String]

        func run() async throws {
            try await withAdmin(client) { admin in
                try await admin.deleteTopics(topics)
                StandardOutput.write("deleted \(topics.joined(separator: ", "))\n")
            }
        }
    }

    struct AddPartitions: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "add-partitions", abstract: "Grow a topic to a total number of partitions.")
        @OptionGroup var client: ClientOptions
        @Argument(help: "The topic.") var topic: String
        @Option(name: .customLong("total"), help: "The partition count after the change.") var total: Int32

        func run() async throws {
            try await withAdmin(client) { admin in
                try await admin.createPartitions(topic: topic, totalCount: total)
                StandardOutput.write("\(topic) now has \(total) partitions\n")
            }
        }
    }

    struct Config: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Read or change a topic's configs.",
            discussion: """
                samsa topic config get payments            # every config with its value
                samsa topic config set payments retention.ms=3600000
                samsa topic config delete payments retention.ms   # back to the default
                """)
        @OptionGroup var client: ClientOptions
        @Argument(help: "get, set or delete.") var action: String
        @Argument(help: "The topic.") var topic: String
        @Argument(help: "key=value pairs to set, or keys to delete.") var entries: [String] = []

        func run() async throws {
            try await withAdmin(client) { admin in
                switch action {
                case "get":
                    let configs = try await admin.describeTopicConfigs(topic)
                    var rows = [["CONFIG", "VALUE", "DEFAULT"]]
                    for (name, value) in configs.sorted(by: { $0.key < $1.key }) {
                        rows.append([name, value.value ?? "", value.isDefault ? "yes" : "no"])
                    }
                    StandardOutput.write(Table.render(rows))
                case "set":
                    try await admin.alterTopicConfigs(topic, try parsePairs(entries, option: "set").mapValues { Optional($0) })
                case "delete":
                    try await admin.alterTopicConfigs(topic, Dictionary(uniqueKeysWithValues: entries.map { ($0, String?.none) }))
                default:
                    throw ValidationError("expected get, set or delete, not '\(action)'")
                }
            }
        }
    }
}

/// Runs `body` with an admin client, closing it after and turning errors into one line.
func withAdmin(_ client: ClientOptions, _ body: (KafkaAdmin) async throws -> Void) async throws {
    let configuration: ClientConfiguration
    do {
        configuration = try ClientConfiguration(properties: try client.kafkaProperties())
    } catch {
        throw ValidationError("\(error)")
    }
    let admin = KafkaAdmin(configuration: configuration)
    do {
        try await body(admin)
    } catch let error as ValidationError {
        await admin.close()
        throw error
    } catch {
        await admin.close()
        throw CommandFailure.exit(ClientErrorText.describe(error, brokers: client.bootstrap))
    }
    await admin.close()
}

/// `key=value` arguments as a dictionary.
func parsePairs(_ entries: [String], option: String) throws -> [String: String] {
    var result: [String: String] = [:]
    for entry in entries {
        guard let equals = entry.firstIndex(of: "="), equals != entry.startIndex else {
            throw ValidationError("\(option) \(entry): expected key=value")
        }
        result[String(entry[..<equals])] = String(entry[entry.index(after: equals)...])
    }
    return result
}

/// Aligned text tables, the first row a header.
enum Table {
    static func render(_ rows: [[String]]) -> String {
        guard let columns = rows.map(\.count).max() else { return "" }
        var widths = [Int](repeating: 0, count: columns)
        for row in rows {
            for (index, cell) in row.enumerated() { widths[index] = max(widths[index], cell.count) }
        }
        return rows.map { row in
            row.enumerated().map { index, cell in
                index == row.count - 1 ? cell : cell + String(repeating: " ", count: widths[index] - cell.count)
            }.joined(separator: "  ")
        }.joined(separator: "\n") + "\n"
    }
}
