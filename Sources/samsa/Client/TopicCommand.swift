import ArgumentParser
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import SamsaClient

/// `samsa topic`: list, describe, create, delete and configure topics.
struct TopicCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "topic",
        abstract: "List, describe, create, delete and configure topics.",
        discussion: """
            Examples:
              samsa topic list
              samsa topic describe payments --json
              samsa topic create payments -p 6 -c retention.ms=86400000
              samsa topic add-partitions payments --total 12
              samsa topic config set payments retention.ms=3600000
              samsa topic delete payments
            """,
        subcommands: [List.self, Describe.self, Create.self, Delete.self, AddPartitions.self, Config.self]
    )

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "List the topics.",
            discussion: """
                Examples:
                  samsa topic list --all    # with __consumer_offsets and __transaction_state
                  samsa topic list --json   # {"topics": ["payments", ...]}
                """)
        @OptionGroup var client: ClientOptions
        @OptionGroup var output: OutputOptions
        @Flag(help: "Include internal topics (__consumer_offsets, __transaction_state).") var all = false

        func run() async throws {
            try await withAdmin(client) { admin in
                let names = try await admin.listTopics(includeInternal: all)
                if output.json { return JSONOutput.write(["topics": names]) }
                for name in names { StandardOutput.write(name + "\n") }
            }
        }
    }

    struct Describe: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Show a topic's partitions, leaders, offsets and non-default configs.",
            discussion: """
                Examples:
                  samsa topic describe payments
                  samsa topic describe payments --json

                --json prints {"topic", "id", "partitions": [{"partition", "leader", \
                "leader_epoch", "start", "end"}], "configs": {name: value}} (the configs \
                not at their defaults).
                """)
        @OptionGroup var client: ClientOptions
        @OptionGroup var output: OutputOptions
        @Argument(help: "The topic.") var topic: String

        func run() async throws {
            try await withAdmin(client) { admin in
                guard let described = try await admin.describeTopics([topic]).first else { return }
                let partitions = described.partitions.map { TopicPartition(topic, $0.index) }
                let starts = try await admin.listOffsets(Dictionary(uniqueKeysWithValues: partitions.map { ($0, OffsetSpec.earliest) }))
                let ends = try await admin.listOffsets(Dictionary(uniqueKeysWithValues: partitions.map { ($0, OffsetSpec.latest) }))
                let configs = try await admin.describeTopicConfigs(topic).filter { !$0.value.isDefault }
                if output.json {
                    return JSONOutput.write([
                        "topic": topic, "id": "\(described.id)",
                        "partitions": described.partitions.map { partition -> JSONValue in
                            let key = TopicPartition(topic, partition.index)
                            return [
                                "partition": Int(partition.index), "leader": Int(partition.leader),
                                "leader_epoch": Int(partition.leaderEpoch),
                                "start": starts[key] ?? -1, "end": ends[key] ?? -1,
                            ]
                        },
                        "configs": configs.mapValues(\.value),
                    ])
                }
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
            abstract: "Create a topic.",
            discussion: """
                Examples:
                  samsa topic create payments -p 6 -c retention.ms=86400000
                  samsa topic create compacted -c cleanup.policy=compact --json
                """)
        @OptionGroup var client: ClientOptions
        @OptionGroup var output: OutputOptions
        @Argument(help: "The topic.") var topic: String
        @Option(name: [.customShort("p"), .long], help: "Partitions (default: the broker's num.partitions).") var partitions: Int32 = -1
        @Option(
            name: [.customShort("c"), .customLong("config")], help: ArgumentHelp("A topic config (repeatable).", valueName: "key=value"))
        var configs: [String] = []

        func run() async throws {
            let parsed = try parsePairs(configs, option: "-c")
            try await withAdmin(client) { admin in
                try await admin.createTopic(NewTopic(name: topic, partitions: partitions, configs: parsed))
                if output.json { return JSONOutput.write(["created": topic]) }
                StandardOutput.write("created \(topic)\n")
            }
        }
    }

    struct Delete: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Delete topics.",
            discussion: """
                Examples:
                  samsa topic delete payments
                  samsa topic delete a b c --json      # {"deleted": ["a", "b", "c"]}
                """)
        @OptionGroup var client: ClientOptions
        @OptionGroup var output: OutputOptions
        @Argument(help: "The topics.") var topics: [String]

        func run() async throws {
            try await withAdmin(client) { admin in
                try await admin.deleteTopics(topics)
                if output.json { return JSONOutput.write(["deleted": topics]) }
                StandardOutput.write("deleted \(topics.joined(separator: ", "))\n")
            }
        }
    }

    struct AddPartitions: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "add-partitions", abstract: "Grow a topic to a total number of partitions.",
            discussion: """
                Example: samsa topic add-partitions payments --total 12
                Keys map to partitions by their count, so keyed records move once it changes.
                """)
        @OptionGroup var client: ClientOptions
        @OptionGroup var output: OutputOptions
        @Argument(help: "The topic.") var topic: String
        @Option(name: .customLong("total"), help: "The partition count after the change.") var total: Int32

        func run() async throws {
            try await withAdmin(client) { admin in
                try await admin.createPartitions(topic: topic, totalCount: total)
                if output.json { return JSONOutput.write(["topic": topic, "partitions": Int(total)]) }
                StandardOutput.write("\(topic) now has \(total) partitions\n")
            }
        }
    }

    struct Config: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Read or change a topic's configs.",
            discussion: """
                Examples:
                  samsa topic config get payments            # every config with its value
                  samsa topic config set payments retention.ms=3600000
                  samsa topic config delete payments retention.ms   # back to the default
                  samsa topic config get payments --json

                --json prints {"topic", "configs": {name: {"value", "default", \
                "read_only"}}}.
                """)
        @OptionGroup var client: ClientOptions
        @OptionGroup var output: OutputOptions
        @Argument(help: "get, set or delete.") var action: String
        @Argument(help: "The topic.") var topic: String
        @Argument(help: "key=value pairs to set, or keys to delete.") var entries: [String] = []

        func run() async throws {
            try await withAdmin(client) { admin in
                switch action {
                case "get":
                    let configs = try await admin.describeTopicConfigs(topic)
                    if output.json {
                        return JSONOutput.write([
                            "topic": topic,
                            "configs": configs.mapValues { value -> JSONValue in
                                [
                                    "value": value.value, "default": value.isDefault,
                                    "read_only": value.isReadOnly,
                                ]
                            },
                        ])
                    }
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
func withAdmin(_ client: ClientOptions, clientPropertiesOnly: Bool = false, _ body: (KafkaAdmin) async throws -> Void) async throws {
    let configuration: ClientConfiguration
    do {
        var properties = try client.kafkaProperties()
        // A command whose -X properties are meant for its producer or consumer uses an admin
        // client on the side: it takes only the properties every client knows.
        if clientPropertiesOnly { properties = properties.filter { ClientConfiguration.propertyNames.contains($0.key) } }
        configuration = try ClientConfiguration(properties: properties)
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
