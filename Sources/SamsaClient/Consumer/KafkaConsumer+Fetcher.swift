import CoreMetrics
import Logging
import NIOConcurrencyHelpers
import NIOCore
import SamsaBinary
import SamsaProtocol
import SamsaRecords

/// The fetcher task: long-polling Fetch requests per leader into the bounded buffer, and the
/// offset lookups it needs.
extension KafkaConsumer {
    // MARK: The fetcher

    func runFetcher() async {
        var lastAutoCommit = ContinuousClock.now
        var attempt = 0
        while !state.withLockedValue({ $0.closed }) {
            do {
                try await resolvePending()
                let fetched = try await fetchOnce()
                attempt = 0
                if configuration.enableAutoCommit, configuration.groupId != nil,
                    ContinuousClock.now - lastAutoCommit >= .milliseconds(configuration.autoCommitIntervalMs)
                {
                    lastAutoCommit = .now
                    try? await commit()
                }
                if !fetched { await fetchWake.wait(until: .now + .milliseconds(configuration.fetchMaxWaitMs)) }
            } catch let error as KafkaError where !error.isRetriable {
                state.withLockedValue { $0.failure = error }
                recordsWake.fire()
                return
            } catch let error as SamsaClientError where !error.isRetriable && !error.isClosed {
                logger.error("fetching stopped", metadata: ["error": "\(error)"])
                state.withLockedValue { $0.failure = error }
                recordsWake.fire()
                return
            } catch {
                logger.debug("fetch failed", metadata: ["error": "\(error)"])
                await cluster.invalidateMetadata()
                let backoff = configuration.client.backoffMs(attempt: attempt, random: Double.random(in: 0...1))
                attempt += 1
                await fetchWake.wait(until: .now + .milliseconds(backoff))
            }
        }
    }

    /// Turns pending starts (after OFFSET_OUT_OF_RANGE, `auto.offset.reset`) into offsets.
    func resolvePending() async throws {
        let pending = state.withLockedValue { state in
            state.partitions.compactMapValues { $0.fetchPosition == nil ? ($0.pending ?? .latest) : nil }
        }
        guard !pending.isEmpty else { return }
        let resolved = try await resolve(pending)
        state.withLockedValue { state in
            for (partition, offset) in resolved {
                guard var entry = state.partitions[partition], entry.fetchPosition == nil else { continue }
                entry.fetchPosition = offset
                entry.consumed = offset
                entry.pending = nil
                state.partitions[partition] = entry
            }
        }
    }

    /// ListOffsets for each partition's leader: the offset for each timestamp (-2 earliest,
    /// -1 latest); a timestamp after every record gives the end offset.
    func listOffsets(_ timestamps: [TopicPartition: Int64]) async throws -> [TopicPartition: Int64] {
        try await PartitionOffsets.list(timestamps, isolation: configuration.isolationLevel, cluster: cluster)
    }

    /// One round of fetches, one per leader, side by side. False when nothing was fetched
    /// (nothing assigned, everything paused, or the buffer is full).
    func fetchOnce() async throws -> Bool {
        let (positions, full) = state.withLockedValue { state -> ([TopicPartition: (Int64, Int)], Bool) in
            let positions = state.partitions.compactMapValues { entry -> (Int64, Int)? in
                guard !entry.paused, let position = entry.fetchPosition else { return nil }
                return (position, entry.epoch)
            }
            return (positions, state.bufferedBytes >= configuration.maxBufferedBytes)
        }
        guard !positions.isEmpty, !full else { return false }
        let metadata = try await cluster.metadata(for: Array(Set(positions.keys.map(\.topic))))
        var byLeader: [Int32: [TopicPartition]] = [:]
        for partition in positions.keys {
            guard let leader = metadata.leader(of: partition.topic, partition: partition.partition) else {
                await cluster.invalidateMetadata()
                continue
            }
            byLeader[leader, default: []].append(partition)
        }
        let fetchedAny = try await withThrowingTaskGroup(of: Bool.self, returning: Bool.self) { group in
            for (leader, partitions) in byLeader {
                group.addTask {
                    try await self.fetch(partitions.sorted(), from: leader, positions: positions)
                }
            }
            var any = false
            for try await fetched in group { any = any || fetched }
            return any
        }
        return fetchedAny
    }

    func fetch(_ partitions: [TopicPartition], from leader: Int32, positions: [TopicPartition: (Int64, Int)]) async throws -> Bool {
        var request = FetchRequest()
        request.replicaId = -1
        request.maxWaitMs = configuration.fetchMaxWaitMs
        request.minBytes = configuration.fetchMinBytes
        request.maxBytes = configuration.fetchMaxBytes
        request.isolationLevel = configuration.isolationLevel.rawValue
        let topicIds = cluster.snapshot.withLockedValue { metadata in metadata.topics.mapValues(\.id) }
        let names = topicIds.reduce(into: [KafkaUUID: String]()) { $0[$1.value] = $1.key }
        let connection = try await cluster.connection(to: leader)
        guard let newest = connection.versions.version(for: FetchRequest.self) else {
            throw SamsaClientError.unsupportedVersion(api: .fetch, broker: connection.address.description)
        }
        // Fetch v13+ names topics by id only; stay at 12 unless every topic id is known.
        let idsKnown = partitions.allSatisfy { (topicIds[$0.topic] ?? .zero) != .zero }
        let version = idsKnown ? newest : min(newest, 12)
        let offsets = Dictionary(uniqueKeysWithValues: partitions.map { ($0, positions[$0]!.0) })
        var session = state.withLockedValue { $0.fetchSessions[leader] } ?? FetchSession()
        let timeout = TimeAmount.milliseconds(configuration.client.requestTimeoutMs + Int64(configuration.fetchMaxWaitMs))
        var response: FetchResponse
        var plan: FetchSession.Plan
        // A session the broker refuses (evicted, or at another epoch) is fetched again in full.
        var attempts = 0
        repeat {
            attempts += 1
            plan = session.plan(offsets, version: version, enabled: configuration.fetchSessions)
            request.sessionId = plan.sessionId
            request.sessionEpoch = plan.epoch
            request.topics = plan.partitions.byTopic().map { topic, indexes in
                var entry = FetchRequest.FetchTopic()
                entry.topic = topic
                entry.topicId = topicIds[topic] ?? .zero
                entry.partitions = indexes.map { index in
                    var item = FetchRequest.FetchPartition()
                    item.partition = index
                    item.fetchOffset = offsets[TopicPartition(topic, index)]!
                    item.partitionMaxBytes = configuration.maxPartitionFetchBytes
                    return item
                }
                return entry
            }
            request.forgottenTopicsData = plan.forgotten.byTopic().map { topic, indexes in
                var entry = FetchRequest.ForgottenTopic()
                entry.topic = topic
                entry.topicId = topicIds[topic] ?? .zero
                entry.partitions = indexes
                return entry
            }
            let started = ContinuousClock.now
            do {
                response = try await connection.send(request, version: version, timeout: timeout)
            } catch {
                // The answer is lost: whether the broker moved the session on is unknown.
                session.reset(keepingId: true)
                state.withLockedValue { $0.fetchSessions[leader] = session }
                throw error
            }
            metrics.fetches.increment()
            metrics.fetchLatency.record(since: started)
        } while !session.handle(response, plan: plan, positions: offsets, names: names) && attempts < 2
        state.withLockedValue { $0.fetchSessions[leader] = session }
        if response.errorCode != 0 { throw KafkaError(ErrorCode(rawValue: response.errorCode)) }
        var chunks: [Chunk] = []
        var advanced: [TopicPartition: Int64] = [:]
        var resets: [TopicPartition] = []
        var refresh = false
        var lagMax: Int64 = 0
        /// Partitions whose fetch found nothing past the end: candidates for `partitionEnds`.
        var atEnd: [TopicPartition: Int64] = [:]
        var answered = Set<TopicPartition>()
        for topic in response.responses {
            let name = topic.topic.isEmpty ? names[topic.topicId] ?? "" : topic.topic
            for data in topic.partitions {
                let key = TopicPartition(name, data.partitionIndex)
                answered.insert(key)
                guard let (position, epoch) = positions[key] else { continue }
                let code = ErrorCode(rawValue: data.errorCode)
                switch code {
                case .noError:
                    let decoded: (records: [ConsumerRecord], next: Int64, bytes: Int)
                    do {
                        decoded = try FetchDecoder.decode(
                            topic: name, partition: data.partitionIndex, data: data, position: position,
                            isolation: configuration.isolationLevel)
                    } catch {
                        // Fetching the same bytes again would fail the same way: the application
                        // hears it (as Kafka's consumer throws CorruptRecordException), rather
                        // than the partition stalling in silence.
                        throw SamsaClientError.malformedResponse(
                            api: .fetch, broker: "node \(leader)",
                            reason: "the records of \(name)-\(data.partitionIndex) from offset \(position) cannot be read: \(error)")
                    }
                    if decoded.next > position { advanced[key] = decoded.next }
                    let next = max(decoded.next, position)
                    lagMax = max(lagMax, data.highWatermark - next)
                    let end = configuration.isolationLevel.end(highWatermark: data.highWatermark, lastStableOffset: data.lastStableOffset)
                    if decoded.records.isEmpty && next >= end { atEnd[key] = next }
                    metrics.records.increment(by: decoded.records.count)
                    metrics.bytes.increment(by: data.records?.readableBytes ?? 0)
                    if !decoded.records.isEmpty {
                        chunks.append(
                            Chunk(partition: key, epoch: epoch, records: decoded.records, bytes: decoded.bytes, next: decoded.next))
                    }
                case .offsetOutOfRange:
                    guard configuration.autoOffsetReset != .none else {
                        throw KafkaError(code, topic: name, partition: data.partitionIndex)
                    }
                    resets.append(key)
                case .notLeaderOrFollower, .unknownTopicOrPartition, .fencedLeaderEpoch, .leaderNotAvailable, .unknownTopicId,
                    .kafkaStorageError:
                    refresh = true
                default:
                    if !code.isRetriable {
                        throw KafkaError(code, topic: name, partition: data.partitionIndex)
                    }
                }
            }
        }
        // An incremental answer leaves out the partitions with nothing new: they are where they
        // were, and at their end if their position reached the end last heard.
        if !plan.isFull {
            for partition in partitions where !answered.contains(partition) {
                guard let end = session.ends[partition], let position = offsets[partition] else { continue }
                lagMax = max(lagMax, end.highWatermark - position)
                if position >= configuration.isolationLevel.end(highWatermark: end.highWatermark, lastStableOffset: end.lastStableOffset) {
                    atEnd[partition] = position
                }
            }
        }
        metrics.lagMax.record(lagMax)
        if refresh { await cluster.invalidateMetadata() }
        let reset: OffsetSpec = configuration.autoOffsetReset == .earliest ? .earliest : .latest
        var ends: [PartitionEnd] = []
        state.withLockedValue { state in
            for chunk in chunks where state.partitions[chunk.partition]?.epoch == chunk.epoch {
                state.chunks.append(chunk)
                state.bufferedBytes += chunk.bytes
            }
            for (partition, next) in advanced where state.partitions[partition]?.epoch == positions[partition]!.1 {
                state.partitions[partition]?.fetchPosition = next
                // This round's chunks are buffered already, so this holds only when the fetch
                // brought markers or aborted data alone: the position moves past them now.
                // Otherwise it moves when the last record before it goes.
                if state.handedOutEverything(of: partition, before: positions[partition]!.0) {
                    state.partitions[partition]?.consumed = next
                }
            }
            // Out of range: the reset waits until every record fetched before is handed out (as
            // Kafka's consumer meets the error only after the fetches before it), so the position,
            // and a commit of it, never jumps past records the application has not seen. Until
            // then the next rounds ask for the same offset again.
            for partition in resets where state.partitions[partition]?.epoch == positions[partition]!.1 {
                guard state.handedOutEverything(of: partition, before: positions[partition]!.0) else { continue }
                state.partitions[partition]?.fetchPosition = nil
                state.partitions[partition]?.pending = reset
            }
            // At the end with every record handed out: reported once per position.
            for (partition, next) in atEnd {
                guard let entry = state.partitions[partition], entry.epoch == positions[partition]!.1, entry.consumed == next,
                    entry.reportedEnd != next
                else { continue }
                state.partitions[partition]?.reportedEnd = next
                ends.append(PartitionEnd(partition: partition, offset: next))
            }
        }
        for end in ends { partitionEndContinuation.yield(end) }
        if !chunks.isEmpty { recordsWake.fire() }
        return !chunks.isEmpty || !advanced.isEmpty
    }
}

extension IsolationLevel {
    /// Where a consumer at this level stops reading: the last stable offset for read_committed
    /// (when the broker sent one), the high watermark otherwise.
    fileprivate func end(highWatermark: Int64, lastStableOffset: Int64) -> Int64 {
        self == .readCommitted && lastStableOffset >= 0 ? lastStableOffset : highWatermark
    }
}
