#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import SamsaProtocol
import SamsaStorage

/// DescribeLogDirs (key 35), versions 0-4 (v0 beyond Kafka 4, as v1).
///
/// One log directory, the data directory (as an absolute path), with the size of each
/// partition's log. Topics null means every partition; otherwise only the listed partitions
/// that exist (others are left out, as in Kafka). Offset lag is 0 (a leader's own log) and
/// IsFutureKey false (no replica moves between directories). TotalBytes and UsableBytes (v4)
/// come from statvfs of the data directory, -1 if it fails.
struct DescribeLogDirsHandler: RequestHandler {
    typealias Request = DescribeLogDirsRequest

    let core: BrokerCore

    func handle(_ request: DescribeLogDirsRequest, context: RequestContext) async throws -> DescribeLogDirsResponse? {
        guard context.allows(.describe, .cluster) else {
            var refused = DescribeLogDirsResponse()
            refused.errorCode = ErrorCode.clusterAuthorizationFailed.rawValue
            return refused
        }
        var wanted: [String: Set<Int32>]?
        if let topics = request.topics {
            var filter: [String: Set<Int32>] = [:]
            for topic in topics { filter[topic.topic, default: []].formUnion(topic.partitions) }
            wanted = filter
        }
        var byTopic: [String: [DescribeLogDirsResponse.DescribeLogDirsPartition]] = [:]
        for partition in core.logs.partitions {
            if let wanted, !(wanted[partition.topic]?.contains(partition.partition) ?? false) { continue }
            guard let log = core.logs.log(for: partition) else { continue }
            var entry = DescribeLogDirsResponse.DescribeLogDirsPartition()
            entry.partitionIndex = partition.partition
            entry.partitionSize = log.size
            entry.offsetLag = 0
            entry.isFutureKey = false
            byTopic[partition.topic, default: []].append(entry)
        }
        let directory = core.configuration.dataDirectory
        let (path, space) = try await core.blocking.run {
            (Self.absolutePath(directory), Self.space(of: directory))
        }
        var result = DescribeLogDirsResponse.DescribeLogDirsResult()
        result.errorCode = ErrorCode.noError.rawValue
        result.logDir = path
        result.topics = byTopic.keys.sorted().map { name in
            var topic = DescribeLogDirsResponse.DescribeLogDirsTopic()
            topic.name = name
            topic.partitions = byTopic[name]!.sorted { $0.partitionIndex < $1.partitionIndex }
            return topic
        }
        result.totalBytes = space?.total ?? -1
        result.usableBytes = space?.usable ?? -1
        var response = DescribeLogDirsResponse()
        response.errorCode = ErrorCode.noError.rawValue
        response.results = [result]
        return response
    }

    /// `path` made absolute against the working directory, as Kafka reports log dirs.
    static func absolutePath(_ path: String) -> String {
        if path.hasPrefix("/") { return path }
        var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        guard getcwd(&buffer, buffer.count) != nil else { return path }
        let cwd = String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        var relative = Substring(path)
        while relative.hasPrefix("./") { relative = relative.dropFirst(2) }
        if relative == "." { relative = "" }
        let base = cwd.hasSuffix("/") ? String(cwd.dropLast()) : cwd
        return relative.isEmpty ? cwd : "\(base)/\(relative)"
    }

    /// The size of the file system holding `path` and the bytes an unprivileged user may still
    /// write there, or nil if statvfs fails.
    static func space(of path: String) -> (total: Int64, usable: Int64)? {
        var stats = statvfs()
        guard statvfs(path, &stats) == 0 else { return nil }
        let fragment = Int64(stats.f_frsize)
        return (Int64(stats.f_blocks) * fragment, Int64(stats.f_bavail) * fragment)
    }
}
