import ArgumentParser
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import SamsaClient

/// `samsa cluster`: the cluster id, controller, brokers, the API versions served and the features.
struct ClusterCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cluster", abstract: "Show the cluster id, controller, brokers, the API versions they serve and their features.",
        discussion: """
            Examples:
              samsa cluster
              samsa cluster --json | jq .features.finalized

            Features (ApiVersions v3 and later) are what the cluster runs at, e.g. \
            transaction.version 2 for KIP-890 transactions, as the controller (or the \
            first broker) reports them.

            --json prints {"cluster_id", "controller", "brokers": [{"node_id", "host", \
            "port"}], "apis": [{"name", "key", "min_version", "max_version"}], \
            "features": {"supported", "finalized": {name: {"min_version", \
            "max_version"}}, "finalized_epoch"}}, features null when not reported.
            """)
    @OptionGroup var client: ClientOptions
    @OptionGroup var output: OutputOptions

    func run() async throws {
        try await withAdmin(client) { admin in
            let description = try await admin.describeCluster()
            let apis = try await admin.apiVersions()
            let reported = try await admin.features()
            let features = reported.supported.isEmpty && reported.finalized.isEmpty ? nil : reported
            if output.json { return printJSON(description, apis: apis, features: features) }
            StandardOutput.write("cluster \(description.clusterId ?? "-")  controller \(description.controllerId)\n")
            var rows = [["BROKER", "ADDRESS"]]
            for broker in description.brokers { rows.append(["\(broker.nodeId)", "\(broker.address)"]) }
            StandardOutput.write(Table.render(rows))
            var apiRows = [["API", "KEY", "VERSIONS"]]
            for api in apis {
                apiRows.append([api.name, "\(api.apiKey)", "\(api.versions.lowerBound)-\(api.versions.upperBound)"])
            }
            StandardOutput.write(Table.render(apiRows))
            guard let features else {
                StandardOutput.write("features: not reported (ApiVersions v3 unavailable)\n")
                return
            }
            var featureRows = [["FEATURE", "SUPPORTED", "FINALIZED"]]
            for (name, levels) in features.supported.sorted(by: { $0.key < $1.key }) {
                featureRows.append([
                    name, "\(levels.lowerBound)-\(levels.upperBound)",
                    features.finalized[name].map {
                        $0.lowerBound == $0.upperBound ? "\($0.upperBound)" : "\($0.lowerBound)-\($0.upperBound)"
                    }
                        ?? "-",
                ])
            }
            StandardOutput.write(Table.render(featureRows))
        }
    }

    private func printJSON(
        _ description: ClusterDescription, apis: [(name: String, apiKey: Int16, versions: ClosedRange<Int16>)], features: BrokerFeatures?
    ) {
        func map(_ levels: [String: ClosedRange<Int16>]) -> [String: JSONValue] {
            levels.mapValues { ["min_version": $0.lowerBound, "max_version": $0.upperBound] }
        }
        JSONOutput.write([
            "cluster_id": description.clusterId,
            "controller": Int(description.controllerId),
            "brokers": description.brokers.map {
                ["node_id": $0.nodeId, "host": $0.address.host, "port": $0.address.port] as JSONValue
            },
            "apis": apis.map {
                [
                    "name": $0.name, "key": Int($0.apiKey), "min_version": Int($0.versions.lowerBound),
                    "max_version": Int($0.versions.upperBound),
                ] as JSONValue
            },
            "features": features.map {
                ["supported": map($0.supported), "finalized": map($0.finalized), "finalized_epoch": $0.finalizedEpoch] as JSONValue
            },
        ])
    }
}

/// `samsa offsets TOPIC`: the earliest, latest and at-time offset of each partition.
struct OffsetsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "offsets", abstract: "Show the earliest, latest and (with --at) at-time offsets of a topic's partitions.",
        discussion: """
            Examples:
              samsa offsets payments
              samsa offsets payments:0,1 --at 1700000000000   # first offset at or after
              samsa offsets payments --json

            --json prints {"topic", "partitions": [{"partition", "earliest", "latest", \
            "at"}]}.
            """)
    @OptionGroup var client: ClientOptions
    @OptionGroup var output: OutputOptions
    @Argument(help: ArgumentHelp("The topic, optionally with partitions: T or T:0,1.", valueName: "topic")) var topic: String
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
            if output.json {
                return JSONOutput.write([
                    "topic": partitions.first?.topic ?? topic,
                    "partitions": JSONOutput.rows(rows, numeric: ["partition", "earliest", "latest", "at"]),
                ])
            }
            StandardOutput.write(Table.render(rows))
        }
    }
}
