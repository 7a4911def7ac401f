import ArgumentParser
import SamsaClient

/// `samsa cluster`: the cluster id, controller, brokers and the API versions served.
struct ClusterCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cluster", abstract: "Show the cluster id, controller, brokers and the API versions they serve.")
    @OptionGroup var client: ClientOptions

    func run() async throws {
        try await withAdmin(client) { admin in
            let description = try await admin.describeCluster()
            StandardOutput.write("cluster \(description.clusterId ?? "-")  controller \(description.controllerId)\n")
            var rows = [["BROKER", "ADDRESS"]]
            for broker in description.brokers { rows.append(["\(broker.nodeId)", "\(broker.address)"]) }
            StandardOutput.write(Table.render(rows))
            var apis = [["API", "KEY", "VERSIONS"]]
            for api in try await admin.apiVersions() {
                apis.append([api.name, "\(api.apiKey)", "\(api.versions.lowerBound)-\(api.versions.upperBound)"])
            }
            StandardOutput.write(Table.render(apis))
        }
    }
}

/// `samsa offsets TOPIC`: the earliest, latest and at-time offset of each partition.
struct OffsetsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "offsets", abstract: "Show the earliest, latest and (with --at) at-time offsets of a topic's partitions.")
    @OptionGroup var client: ClientOptions
    @Argument(help: "The topic.") var topic: String
    @Option(help: "A time in ms since the epoch: also show the first offset at or after it.") var at: Int64?

    func run() async throws {
        try await withAdmin(client) { admin in
            let partitions = try await TopicSelection(topic).partitions(admin)
            func offsets(_ spec: OffsetSpec) async throws -> [TopicPartition: Int64] {
                try await admin.listOffsets(Dictionary(uniqueKeysWithValues: partitions.map { ($0, spec) }))
            }
            let earliest = try await offsets(.earliest)
            let latest = try await offsets(.latest)
            var atTime: [TopicPartition: Int64]?
            if let at { atTime = try await offsets(.timestamp(at)) }
            var rows = [["PARTITION", "EARLIEST", "LATEST"] + (at == nil ? [] : ["AT"])]
            for partition in partitions {
                rows.append(
                    ["\(partition.partition)", "\(earliest[partition] ?? -1)", "\(latest[partition] ?? -1)"]
                        + (atTime.map { ["\($0[partition] ?? -1)"] } ?? []))
            }
            StandardOutput.write(Table.render(rows))
        }
    }
}
