import ArgumentParser
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import SamsaClient

/// `samsa group`: consumer groups, their members, offsets and lag.
struct GroupCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "group",
        abstract: "List and describe consumer groups; reset, delete and show their offsets.",
        discussion: """
            Examples:
              samsa group list
              samsa group describe billing --json
              samsa group reset-offsets billing --topic payments --to-earliest --execute
              samsa group delete-offsets billing --topic payments:0,1
              samsa group delete billing
            """,
        subcommands: [List.self, Describe.self, Delete.self, DeleteOffsets.self, ResetOffsets.self]
    )

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "List the groups with their state.",
            discussion: """
                Examples:
                  samsa group list
                  samsa group list --json   # {"groups": [{"group", "state", "type", ...}]}
                """)
        @OptionGroup var client: ClientOptions
        @OptionGroup var output: OutputOptions

        func run() async throws {
            try await withAdmin(client) { admin in
                var rows = [["GROUP", "STATE", "TYPE", "PROTOCOL"]]
                for group in try await admin.listGroups().sorted(by: { $0.groupId < $1.groupId }) {
                    rows.append([group.groupId, group.state, group.type, group.protocolType])
                }
                if output.json { return JSONOutput.write(["groups": JSONOutput.rows(rows)]) }
                StandardOutput.write(Table.render(rows))
            }
        }
    }

    struct Describe: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Show a group's members and, per partition, the committed offset, end offset and lag.",
            discussion: """
                Examples:
                  samsa group describe billing
                  samsa group describe billing --json

                --json prints {"group", "state", "assignor", "protocol_type", "members": \
                [{"member_id", "client_id", "host", "group_instance_id", "assignment"}], \
                "partitions": [{"topic", "partition", "committed", "end", "lag", \
                "member"}], "total_lag"}.
                """)
        @OptionGroup var client: ClientOptions
        @OptionGroup var output: OutputOptions
        @Argument(help: "The group.") var group: String

        func run() async throws {
            try await withAdmin(client) { admin in
                let description = try await admin.describeGroup(group)
                let owners = Dictionary(
                    description.members.flatMap { member in member.assignment.map { ($0, member.clientId + " " + member.memberId) } },
                    uniquingKeysWith: { first, _ in first })
                let lag = try await admin.lag(group: group)
                var rows = [["TOPIC", "PARTITION", "COMMITTED", "END", "LAG", "MEMBER"]]
                var total: Int64 = 0
                for (partition, entry) in lag.sorted(by: { $0.key < $1.key }) {
                    total += entry.lag
                    rows.append([
                        partition.topic, "\(partition.partition)", "\(entry.committed)", "\(entry.end)", "\(entry.lag)",
                        owners[partition] ?? "-",
                    ])
                }
                if output.json {
                    return JSONOutput.write([
                        "group": group, "state": description.state, "assignor": description.protocol,
                        "protocol_type": description.protocolType,
                        "members": description.members.map { member -> JSONValue in
                            [
                                "member_id": member.memberId, "client_id": member.clientId, "host": member.host,
                                "group_instance_id": member.groupInstanceId,
                                "assignment": member.assignment.sorted().map {
                                    ["topic": $0.topic, "partition": $0.partition] as JSONValue
                                },
                            ]
                        },
                        "partitions": JSONOutput.rows(rows, numeric: ["partition", "committed", "end", "lag"]), "total_lag": total,
                    ])
                }
                StandardOutput.write(
                    "group \(group)  state \(description.state)  assignor \(description.protocol)  members \(description.members.count)\n")
                StandardOutput.write(Table.render(rows))
                StandardOutput.write("total lag \(total)\n")
            }
        }
    }

    struct Delete: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Delete a group (it must have no members).", discussion: "Example: samsa group delete billing")
        @OptionGroup var client: ClientOptions
        @OptionGroup var output: OutputOptions
        @Argument(help: "The group.") var group: String

        func run() async throws {
            try await withAdmin(client) { admin in
                try await admin.deleteGroup(group)
                if output.json { return JSONOutput.write(["deleted": group]) }
                StandardOutput.write("deleted \(group)\n")
            }
        }
    }

    struct DeleteOffsets: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "delete-offsets", abstract: "Delete a group's committed offsets of a topic.",
            discussion: """
                Examples:
                  samsa group delete-offsets billing --topic payments
                  samsa group delete-offsets billing --topic payments:0,1
                """)
        @OptionGroup var client: ClientOptions
        @OptionGroup var output: OutputOptions
        @Argument(help: "The group.") var group: String
        @Option(help: ArgumentHelp("The topic, optionally with partitions: T or T:0,1.", valueName: "topic")) var topic: String

        func run() async throws {
            try await withAdmin(client) { admin in
                let partitions = try await TopicSelection(topic).partitions(admin)
                try await admin.deleteGroupOffsets(group, partitions)
                if output.json {
                    return JSONOutput.write([
                        "group": group, "deleted": partitions.map { ["topic": $0.topic, "partition": $0.partition] as JSONValue },
                    ])
                }
                StandardOutput.write("deleted the offsets of \(partitions.count) partitions\n")
            }
        }
    }

    struct ResetOffsets: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "reset-offsets",
            abstract: "Move a group's offsets; prints the plan, and applies it with --execute.",
            discussion: """
                Examples:
                  samsa group reset-offsets billing --topic payments --to-earliest   # a plan
                  samsa group reset-offsets billing --topic payments:0,1 \\
                    --shift-by -100 --execute
                  samsa group reset-offsets billing --topic payments --by-duration PT1H --execute
                  samsa group reset-offsets billing --topic payments --to-datetime 2026-12-04T10:00:00Z

                The group must have no members while its offsets are reset, as in Kafka. \
                --json prints {"group", "plan": [{"topic", "partition", "current", \
                "new"}], "applied"}.
                """)
        @OptionGroup var client: ClientOptions
        @OptionGroup var output: OutputOptions
        @Argument(help: "The group.") var group: String
        @Option(help: ArgumentHelp("The topic, optionally with partitions: T or T:0,1.", valueName: "topic")) var topic: String
        @Flag(name: .customLong("to-earliest")) var toEarliest = false
        @Flag(name: .customLong("to-latest")) var toLatest = false
        @Option(name: .customLong("to-offset")) var toOffset: Int64?
        @Option(
            name: .customLong("to-datetime"),
            help: ArgumentHelp(
                "The first offset at or after a time: ms since the epoch, or ISO 8601 (2026-12-04T10:00:00Z).", valueName: "time"))
        var toDatetime: String?
        @Option(
            name: .customLong("by-duration"),
            help: ArgumentHelp(
                "The first offset at or after this long ago: ISO 8601 (PT15M, P1DT2H) or 30s, 15m, 2h, 7d.", valueName: "duration"))
        var byDuration: String?
        @Option(name: .customLong("shift-by"), parsing: .unconditional, help: "Move by this many records (negative: back).")
        var shiftBy: Int64?
        @Flag(help: "Apply the plan.") var execute = false

        func validate() throws {
            let chosen = [toEarliest, toLatest, toOffset != nil, toDatetime != nil, byDuration != nil, shiftBy != nil].filter { $0 }.count
            guard chosen == 1 else {
                throw ValidationError("choose one of --to-earliest, --to-latest, --to-offset, --to-datetime, --by-duration, --shift-by")
            }
            _ = try targetTime()
        }

        /// The time of --to-datetime or --by-duration, in ms since the epoch.
        func targetTime() throws -> Int64? {
            if let toDatetime {
                guard let time = TimeText.milliseconds(toDatetime) else {
                    throw ValidationError("--to-datetime \(toDatetime): expected ms since the epoch or ISO 8601, e.g. 2026-12-04T10:00:00Z")
                }
                return time
            }
            if let byDuration {
                guard let duration = TimeText.durationMilliseconds(byDuration) else {
                    throw ValidationError("--by-duration \(byDuration): expected ISO 8601 (PT15M, P1DT2H) or 30s, 15m, 2h, 7d")
                }
                return TimeText.nowMilliseconds() - duration
            }
            return nil
        }

        func run() async throws {
            try await withAdmin(client) { admin in
                let partitions = try await TopicSelection(topic).partitions(admin)
                let starts = try await admin.listOffsets(Dictionary(uniqueKeysWithValues: partitions.map { ($0, OffsetSpec.earliest) }))
                let ends = try await admin.listOffsets(Dictionary(uniqueKeysWithValues: partitions.map { ($0, OffsetSpec.latest) }))
                let committed = try await admin.groupOffsets(group, partitions: partitions)
                var plan: [TopicPartition: Int64] = [:]
                if let time = try targetTime() {
                    plan = try await admin.listOffsets(
                        Dictionary(uniqueKeysWithValues: partitions.map { ($0, OffsetSpec.timestamp(time)) }))
                }
                for partition in partitions {
                    let start = starts[partition] ?? 0
                    let end = ends[partition] ?? 0
                    var target: Int64
                    if toEarliest {
                        target = start
                    } else if toLatest {
                        target = end
                    } else if let toOffset {
                        target = toOffset
                    } else if let shiftBy {
                        target = (committed[partition] ?? start) + shiftBy
                    } else {
                        target = plan[partition] ?? end
                    }
                    plan[partition] = min(max(target, start), end)
                }
                var rows = [["TOPIC", "PARTITION", "CURRENT", "NEW"]]
                for (partition, offset) in plan.sorted(by: { $0.key < $1.key }) {
                    rows.append([partition.topic, "\(partition.partition)", committed[partition].map(String.init) ?? "-", "\(offset)"])
                }
                func report(applied: Bool) {
                    if output.json {
                        JSONOutput.write([
                            "group": group, "plan": JSONOutput.rows(rows, numeric: ["partition", "current", "new"]), "applied": applied,
                        ])
                    } else {
                        StandardOutput.write(Table.render(rows))
                        StandardOutput.write(applied ? "applied\n" : "dry run: nothing changed (add --execute to apply)\n")
                    }
                }
                guard execute else { return report(applied: false) }
                let description = try await admin.describeGroup(group)
                guard description.members.isEmpty else {
                    throw CommandFailure.exit("group '\(group)' has active members; stop them before resetting offsets")
                }
                try await admin.alterGroupOffsets(group, plan)
                report(applied: true)
            }
        }
    }
}

/// `T` or `T:0,1,2`: a topic's partitions (all of them when none are named).
struct TopicSelection {
    var topic: String
    var partitions: [Int32]?

    init(_ text: String) throws {
        guard let colon = text.firstIndex(of: ":") else {
            topic = text
            return
        }
        topic = String(text[..<colon])
        let list = text[text.index(after: colon)...].split(separator: ",")
        partitions = try list.map { entry in
            guard let index = Int32(entry) else { throw ValidationError("--topic \(text): '\(entry)' is not a partition number") }
            return index
        }
    }

    func partitions(_ admin: KafkaAdmin) async throws -> [TopicPartition] {
        if let partitions { return partitions.map { TopicPartition(topic, $0) } }
        guard let described = try await admin.describeTopics([topic]).first else { return [] }
        return described.partitions.map { TopicPartition(topic, $0.index) }
    }
}
