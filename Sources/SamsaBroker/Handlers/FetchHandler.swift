import NIOCore
import SamsaProtocol
import SamsaStorage
import ServiceLifecycle

/// Fetch (key 1), versions 0-18.
///
/// Topics are named up to v12 and identified by id from v13 (an unknown id is UNKNOWN_TOPIC_ID
/// on each of its partitions). Each partition returns whole batches from the one holding the
/// fetch offset, within PartitionMaxBytes and the response's MaxBytes, except that the first
/// batch found is returned whole whatever the limits (KIP-74); see ``FetchReader``.
/// read_committed (IsolationLevel 1) reads up to the last stable offset and lists the aborted
/// transactions; read_uncommitted reads up to the high watermark. The record bytes go out from
/// the segment files (``FetchResponseWriter``): with `sendfile`, or over TLS in chunks read as
/// the connection drains (``ResponseFrameEncoder``); a file system without descriptors (tests)
/// gets one read per partition instead.
///
/// v0-3 (beyond Kafka 4) read the legacy message formats: each partition's batches are read
/// into memory and down-converted (magic 0 for v0-1, magic 1 for v2-3, uncompressed, control
/// batches left out), as Kafka 3.x did; v4+ keep the zero-copy path.
///
/// Long polling: when less than MinBytes was found, no partition has an error and MaxWaitMs is
/// positive, the fetch waits in the ``AppendNotifier`` until an append to one of its partitions
/// or the wait ends (capped at ``maxWait``), then reads again and answers.
///
/// Fetch sessions (v7+, KIP-227, ``FetchSessionCache``): SessionEpoch 0 opens a session for the
/// partitions named, and later requests send only their changes; a session's answers list only
/// the partitions with records, an error or offsets the consumer has not been told. An unknown
/// session is FETCH_SESSION_ID_NOT_FOUND, an unexpected epoch INVALID_FETCH_SESSION_EPOCH.
///
/// Differences from Kafka: no preferred read replica (-1), no throttling.
struct FetchHandler: RequestHandler {
    typealias Request = FetchRequest

    let core: BrokerCore

    /// The longest a fetch waits for MinBytes, whatever its MaxWaitMs.
    static let maxWait = TimeAmount.seconds(30)
    /// The most record bytes in one response (Kafka's broker `fetch.max.bytes` default); the
    /// first batch may still exceed it (KIP-74).
    static let maxResponseBytes = 55 * 1024 * 1024

    func handle(_ request: FetchRequest, context: RequestContext) async throws -> FetchResponse? {
        var pass = try await fetch(request, context: context)
        if context.apiVersion < 4 { try await downConvert(&pass, request: request, version: context.apiVersion) }
        var response = pass.response
        // Callers of `handle` get the bytes inline (the wire path uses `respond`).
        for (topicIndex, topicFiles) in pass.files.enumerated() {
            for (partitionIndex, file) in topicFiles.enumerated() {
                guard let file else { continue }
                response.responses[topicIndex].partitions[partitionIndex].records = try await core.blocking.run { try file.read() }
            }
        }
        return response
    }

    func respond(to request: FetchRequest, context: RequestContext) async throws -> ResponseFrame? {
        var pass = try await fetch(request, context: context)
        if context.apiVersion < 4 { try await downConvert(&pass, request: request, version: context.apiVersion) }
        // Record bytes of files without a descriptor (an in-memory file system) are read here,
        // one read per partition, in place when they are in memory; those that are not, with
        // one trip to the blocking pool for all. The others go out from their files: with
        // sendfile, or over TLS in chunks read as the connection drains (``ResponseFrameEncoder``).
        var missed: [(topic: Int, partition: Int, range: FileRange)] = []
        for (topicIndex, topicFiles) in pass.files.enumerated() {
            for (partitionIndex, file) in topicFiles.enumerated() {
                guard let file, file.file.fileDescriptor == nil else { continue }
                pass.files[topicIndex][partitionIndex] = nil
                if let buffer = try file.readIfCached() {
                    pass.response.responses[topicIndex].partitions[partitionIndex].records = buffer
                } else {
                    missed.append((topicIndex, partitionIndex, file))
                }
            }
        }
        if !missed.isEmpty {
            let ranges = missed.map(\.range)
            let buffers = try await core.blocking.run { try ranges.map { range throws(StorageError) in try range.read() } }
            for (read, buffer) in zip(missed, buffers) {
                pass.response.responses[read.topic].partitions[read.partition].records = buffer
            }
        }
        pass.response.throttleTimeMs = context.throttle(
            .fetch, bytes: pass.byteCount, quotas: core.quotas, now: core.clock.nowMilliseconds())
        return try FetchResponseWriter.frame(
            pass.response, files: pass.files, version: context.apiVersion, correlationId: context.correlationId,
            allocator: context.allocator
        )
    }

    /// Replaces every partition's record batches by a legacy message set (Fetch v0-3), within
    /// the partition's PartitionMaxBytes (its first message always whole, so a consumer moves on).
    /// The response lists topics and partitions in request order.
    private func downConvert(_ pass: inout FetchPass, request: FetchRequest, version: Int16) async throws {
        let files = pass.files
        let response = pass.response
        pass.response = try await core.blocking.run {
            var converted = response
            for (topicIndex, topic) in response.responses.enumerated() {
                for (partitionIndex, partition) in topic.partitions.enumerated() {
                    let bytes = try files[topicIndex][partitionIndex]?.read() ?? partition.records
                    guard let bytes, bytes.readableBytes > 0 else { continue }
                    let requested = request.topics.indices.contains(topicIndex) ? request.topics[topicIndex].partitions : []
                    let limit =
                        requested.indices.contains(partitionIndex) ? Int(max(0, requested[partitionIndex].partitionMaxBytes)) : Int.max
                    converted.responses[topicIndex].partitions[partitionIndex].records = try LegacyConversion.downConverted(
                        bytes, version: version, maxBytes: limit)
                }
            }
            return converted
        }
        pass.files = pass.files.map { $0.map { _ in nil } }
    }

    /// Resolves the request's fetch session, reads every partition it covers (see
    /// ``read(_:context:)``), and for a session opened or continued notes what the answer tells
    /// the consumer; a continued session's answer keeps only the partitions with news.
    private func fetch(_ request: FetchRequest, context: RequestContext) async throws -> FetchPass {
        let version = context.apiVersion
        let session = version >= 7 ? core.fetchSessions.lookup(request, now: core.clock.nowMilliseconds()) : .sessionless
        var request = request
        switch session {
        case .failed(let error):
            var response = FetchResponse()
            response.errorCode = error.rawValue
            response.sessionId = 0
            return FetchPass(response: response, files: [], byteCount: 0, hasError: true, partitions: [])
        case .incremental(_, let topics):
            request.topics = topics
        case .sessionless, .newSession:
            break
        }
        var pass = try await read(request, context: context)
        switch session {
        case .newSession:
            pass.response.sessionId = core.fetchSessions.open(request, answeredBy: pass.response, now: core.clock.nowMilliseconds())
        case .incremental(let id, _):
            core.fetchSessions.keepNews(of: &pass, session: id)
            pass.response.sessionId = id
        case .sessionless, .failed:
            break
        }
        return pass
    }

    /// Reads the partitions of `request`, waiting for MinBytes as it allows, and returns the last read.
    private func read(_ request: FetchRequest, context: RequestContext) async throws -> FetchPass {
        let version = context.apiVersion
        let requestedMax = version >= 3 ? Int(max(0, request.maxBytes)) : Int(Int32.max)
        var configured = FetchReader(
            core: core, request: request, version: version, responseMaxBytes: min(requestedMax, Self.maxResponseBytes)
        )
        if core.authorizer.isEnabled {
            // Consumers need READ on each topic; a replica's fetch needs CLUSTER_ACTION (CVE-2018-1288).
            let image = core.topics.image
            let replicaAllowed = configured.isolation != .logEnd || context.allows(.clusterAction, .cluster)
            configured.deniedTopics = Set(
                request.topics.map { version >= 13 ? image.topic(id: $0.topicId)?.name ?? "" : $0.topic }.filter { name in
                    !replicaAllowed || !context.allows(.read, .topic, name)
                })
        }
        let reader = configured
        let notifier = core.appendNotifier
        let minBytes = Int(request.minBytes)
        let waitLimit = min(TimeAmount.milliseconds(Int64(max(0, request.maxWaitMs))), Self.maxWait)
        let deadline = core.clock.nowMilliseconds() + waitLimit.nanoseconds / 1_000_000

        var snapshot = notifier.snapshot()
        var pass = try await readOnce(reader)
        while pass.byteCount < minBytes, !pass.hasError, !pass.partitions.isEmpty, !Task.isShuttingDownGracefully {
            guard core.clock.nowMilliseconds() < deadline else { break }
            let partitions = pass.partitions
            let since = snapshot
            // Graceful shutdown ends the wait, so the server is not held up by idle consumers.
            let reason = await notifier.wait(for: partitions, after: since, deadline: deadline)
            snapshot = notifier.snapshot()
            pass = try await readOnce(reader)
            if reason != .appended { break }
        }
        return pass
    }

    /// Reads on the calling event loop when every batch header the read looks at is in the page
    /// cache, as it is for a consumer near the log's end, and on the blocking pool otherwise: the
    /// usual fetch then costs no thread hand-off, and an event loop never waits for the disk.
    private func readOnce(_ reader: FetchReader) async throws -> FetchPass {
        if let pass = reader.readIfCached() { return pass }
        return try await core.blocking.run { reader.read() }
    }
}
