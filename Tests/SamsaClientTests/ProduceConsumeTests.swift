import MetricsTestKit
import NIOConcurrencyHelpers
import NIOCore
import SamsaProtocol
import SamsaRecords
import SamsaTesting
import Testing

@testable import SamsaClient

/// The producer and the consumer against a real broker in the test process.
@Suite("Producer and consumer against SamsaTestCluster", .timeLimit(.minutes(1)))
struct ProduceConsumeTests {
    private func producer(_ cluster: SamsaTestCluster, configure: (inout ProducerConfiguration) -> Void = { _ in }) throws -> KafkaProducer
    {
        var configuration = ProducerConfiguration(client: try ClientConfiguration(bootstrapServers: cluster.bootstrapServers))
        configure(&configuration)
        return try KafkaProducer(configuration: configuration)
    }

    private func consumer(
        _ cluster: SamsaTestCluster, group: String? = nil, configure: (inout ConsumerConfiguration) -> Void = { _ in }
    )
        throws -> KafkaConsumer
    {
        var configuration = ConsumerConfiguration(
            client: try ClientConfiguration(bootstrapServers: cluster.bootstrapServers), groupId: group)
        configuration.enableAutoCommit = false
        configure(&configuration)
        return try KafkaConsumer(configuration: configuration)
    }

    /// Reads `count` records from the consumer.
    private func read(_ consumer: KafkaConsumer, count: Int) async throws -> [ConsumerRecord] {
        var records: [ConsumerRecord] = []
        for try await record in consumer.records {
            records.append(record)
            if records.count == count { break }
        }
        return records
    }

    @Test("keyed records are acknowledged with consecutive offsets per partition and read back byte for byte, headers included")
    func roundTrip() async throws {
        try await SamsaTestCluster.with { cluster in
            try await cluster.createTopic("payments", partitions: 3)
            let producer = try producer(cluster)
            var sent: [(ProducerRecord, RecordMetadata)] = []
            try await withThrowingTaskGroup(of: (ProducerRecord, RecordMetadata).self) { group in
                for index in 0..<300 {
                    let record = ProducerRecord(
                        topic: "payments", key: "user-\(index % 17)", value: "payment \(index)", headers: ["n": "\(index)"])
                    group.addTask { (record, try await producer.send(record)) }
                }
                for try await result in group { sent.append(result) }
            }
            await producer.close()
            for partition in Int32(0)..<3 {
                let offsets = sent.filter { $0.1.partition == partition }.map(\.1.offset).sorted()
                #expect(offsets == Array(0..<Int64(offsets.count)), "partition \(partition): consecutive offsets")
                #expect(cluster.endOffset(topic: "payments", partition: Int(partition)) == Int64(offsets.count))
            }
            for (record, metadata) in sent {
                #expect(metadata.partition == DefaultPartitioner.murmur2Partition(record.key!, partitionCount: 3))
            }
            let consumer = try consumer(cluster)
            try await consumer.assign([0, 1, 2].reduce(into: [:]) { $0[TopicPartition("payments", $1)] = OffsetSpec.earliest })
            let received = try await read(consumer, count: 300)
            await consumer.close()
            let byPosition = Dictionary(
                uniqueKeysWithValues: sent.map { (TopicPartition($0.1.topic, $0.1.partition), $0.1.offset, $0.0) }
                    .map { ("\($0.0)@\($0.1)", $0.2) })
            for record in received {
                let original = try #require(byPosition["\(TopicPartition(record.topic, record.partition))@\(record.offset)"])
                #expect(record.key == original.key && record.value == original.value)
                #expect(record.headers == original.headers)
            }
            // In order per partition.
            for partition in Int32(0)..<3 {
                let offsets = received.filter { $0.partition == partition }.map(\.offset)
                #expect(offsets == offsets.sorted())
            }
        }
    }

    @Test("every codec round-trips", arguments: [CompressionCodec.none, .gzip, .snappy, .lz4, .zstd])
    func codecs(_ codec: CompressionCodec) async throws {
        try await SamsaTestCluster.with { cluster in
            try await cluster.createTopic("c")
            let producer = try producer(cluster) { $0.compression = codec }
            for index in 0..<50 {
                try await producer.sendWithoutWaiting(ProducerRecord(topic: "c", value: String(repeating: "v\(index) ", count: 20)))
            }
            await producer.flush()
            await producer.close()
            #expect(cluster.endOffset(topic: "c") == 50)
            let consumer = try consumer(cluster)
            try await consumer.assign([TopicPartition("c", 0): .earliest])
            // Read as batches: each holds records of one partition in order, and the position
            // moves past each batch handed out.
            var records: [ConsumerRecord] = []
            for try await batch in consumer.batches {
                records += batch
                #expect(consumer.position(TopicPartition("c", 0)) == (batch.last?.offset ?? -2) + 1)
                if records.count == 50 { break }
            }
            await consumer.close()
            #expect(records.map(\.valueString) == (0..<50).map { String(repeating: "v\($0) ", count: 20) })
        }
    }

    @Test("the bulk send queues many records in one call, across partitions, and reports each delivery")
    func bulkSend() async throws {
        try await SamsaTestCluster.with { cluster in
            try await cluster.createTopic("bulk", partitions: 2)
            var configuration = ProducerConfiguration(client: try ClientConfiguration(bootstrapServers: cluster.bootstrapServers))
            configuration.bufferMemory = 4_096
            configuration.batchSize = 1_024
            let producer = try KafkaProducer(configuration: configuration)
            let delivered = NIOLockedValueBox<[RecordMetadata]>([])
            let records = (0..<200).map { ProducerRecord(topic: "bulk", value: "record \($0)", partition: Int32($0 % 2)) }
            // The buffer holds far fewer than 200 records: the call waits for room as it goes.
            try await producer.sendWithoutWaiting(records) { result in
                if case .success(let written) = result { delivered.withLockedValue { $0.append(written) } }
            }
            await producer.flush()
            await producer.close()
            #expect(delivered.withLockedValue { $0.count } == 200)
            #expect(cluster.endOffset(topic: "bulk", partition: 0) == 100 && cluster.endOffset(topic: "bulk", partition: 1) == 100)
        }
    }

    @Test("seek, latest and a timestamp start where Kafka starts; commit stores the position for the group")
    func positionsAndCommits() async throws {
        try await SamsaTestCluster.with { cluster in
            try await cluster.createTopic("s")
            let producer = try producer(cluster)
            for index in 0..<10 {
                _ = try await producer.send(
                    ProducerRecord(topic: "s", value: ByteBuffer(string: "\(index)"), timestamp: 1_000 + Int64(index)))
            }
            let consumer = try consumer(cluster, group: "readers")
            let partition = TopicPartition("s", 0)
            try await consumer.assign([partition: .timestamp(1_004)])
            #expect(try await read(consumer, count: 1).first?.offset == 4)
            try await consumer.seek(partition, to: .offset(8))
            #expect(try await read(consumer, count: 2).map(\.offset) == [8, 9])
            try await consumer.commit()
            #expect(await cluster.committedOffset(group: "readers", topic: "s") == 10)
            #expect(try await consumer.committed([partition]) == [partition: 10])
            try await consumer.seek(partition, to: .latest)
            #expect(consumer.position(partition) == 10, "latest is looked up by seek")
            _ = try await producer.send(ProducerRecord(topic: "s", value: "after"))
            #expect(try await read(consumer, count: 1).first?.valueString == "after")
            await consumer.close()
            await producer.close()
            // A new consumer of the group starts at the committed offset.
            let second = try self.consumer(cluster, group: "readers")
            try await second.assign([partition])
            #expect(try await read(second, count: 1).first?.offset == 10)
            await second.close()
        }
    }

    @Test("a broker error on produce is retried; a request held past the request timeout fails with requestTimedOut")
    func retriesAndTimeouts() async throws {
        try await SamsaTestCluster.with { cluster in
            try await cluster.createTopic("r")
            let producer = try producer(cluster) { $0.client.retryBackoffMs = 1 }
            let failures = try cluster.failNext(.produce, with: .notLeaderOrFollower, times: 2)
            let written = try await producer.send(ProducerRecord(topic: "r", value: "once"))
            #expect(failures.requestCount == 2)
            #expect(written.offset == 0)
            #expect(cluster.endOffset(topic: "r") == 1, "written once, after two refusals")
            await producer.close()

            var configuration = ConsumerConfiguration(
                client: try ClientConfiguration(bootstrapServers: cluster.bootstrapServers), groupId: "g")
            configuration.client.requestTimeoutMs = 200
            let consumer = try KafkaConsumer(configuration: configuration)
            let (released, release) = AsyncStream<Void>.makeStream()
            cluster.delayNext(.offsetFetch) {
                for await _ in released { return }
            }
            await #expect(throws: SamsaClientError.self) { _ = try await consumer.committed([TopicPartition("r", 0)]) }
            release.yield()
            release.finish()
            await consumer.close()
        }
    }

    @Test("the producer and the consumer report counts, sizes and latencies through swift-metrics")
    func metrics() async throws {
        try await SamsaTestCluster.with { cluster in
            try await cluster.createTopic("measured")
            let metrics = TestMetrics()
            let producer = try producer(cluster) {
                $0.client.metricsFactory = metrics
                $0.client.clientId = "measured-producer"
            }
            for index in 0..<10 { _ = try await producer.send(ProducerRecord(topic: "measured", value: "record \(index)")) }
            await producer.close()
            let producerId = [("client_id", "measured-producer")]
            #expect(try metrics.expectCounter("kafka_producer_records_sent_total", producerId).totalValue == 10)
            #expect(try metrics.expectCounter("kafka_producer_bytes_sent_total", producerId).totalValue > 0)
            #expect(try metrics.expectCounter("kafka_producer_requests_total", producerId).totalValue == 10, "one send at a time")
            #expect(try metrics.expectTimer("kafka_producer_request_latency", producerId).values.count == 10)
            #expect(try metrics.expectRecorder("kafka_producer_batch_size_bytes", producerId).values.count == 10)
            #expect(try metrics.expectGauge("kafka_producer_buffered_bytes", producerId).lastValue == 0, "nothing left buffered")

            let consumer = try consumer(cluster) {
                $0.client.metricsFactory = metrics
                $0.client.clientId = "measured-consumer"
            }
            try await consumer.assign([TopicPartition("measured", 0): .earliest])
            _ = try await read(consumer, count: 10)
            await consumer.close()
            let consumerId = [("client_id", "measured-consumer")]
            #expect(try metrics.expectCounter("kafka_consumer_records_fetched_total", consumerId).totalValue == 10)
            #expect(try metrics.expectCounter("kafka_consumer_fetch_requests_total", consumerId).totalValue >= 1)
            #expect(try metrics.expectGauge("kafka_consumer_records_lag_max", consumerId).values.contains(0))
        }
    }

    @Test("trySendWithoutWaiting queues at once when it can, and refuses, queuing nothing, for an unknown topic or a full buffer")
    func trySend() async throws {
        try await SamsaTestCluster.with { cluster in
            try await cluster.createTopic("try", partitions: 2)
            let producer = try producer(cluster) { configuration in
                configuration.bufferMemory = 4_096
                configuration.batchSize = 4_096
                // Nothing is due before the flush (no batch fills, none lingers out), so the
                // buffer only fills.
                configuration.lingerMs = 600_000
            }
            let record = { (index: Int) in ProducerRecord(topic: "try", value: "record \(index)", partition: Int32(index % 2)) }
            #expect(try !producer.trySendWithoutWaiting(record(0)), "the topic's partitions are not known yet")
            try await producer.connect(topics: ["try"])
            let delivered = NIOLockedValueBox(0)
            var queued = 0
            while try producer.trySendWithoutWaiting(
                record(queued),
                onDelivery: { result in
                    if case .success = result { delivered.withLockedValue { $0 += 1 } }
                })
            {
                queued += 1
            }
            #expect(queued > 10 && queued < 4_096 / 8, "the buffer took some records, then was full: \(queued)")
            await producer.flush()
            await producer.close()
            #expect(delivered.withLockedValue { $0 } == queued)
            #expect(
                (cluster.endOffset(topic: "try", partition: 0) ?? 0) + (cluster.endOffset(topic: "try", partition: 1) ?? 0) == Int64(queued)
            )
        }
    }

    @Test("connect reaches the cluster, learns the topics' partitions and takes the producer id before any send")
    func connectAhead() async throws {
        try await SamsaTestCluster.with { cluster in
            try await cluster.createTopic("ahead", partitions: 3)
            let producer = try producer(cluster)
            let initProducerIds = cluster.observe(.initProducerId) { _ in }
            try await producer.connect(topics: ["ahead"])
            #expect(initProducerIds.requestCount == 1)
            #expect(producer.state.withLockedValue { $0.producerId } >= 0)
            #expect(producer.cluster.snapshot.withLockedValue { $0.partitionCount(of: "ahead") } == 3)
            _ = try await producer.send(ProducerRecord(topic: "ahead", value: "first"))
            #expect(initProducerIds.requestCount == 1, "the send used the id taken by connect")
            await producer.close()
        }
    }

    @Test("delivery reports: one per batch, covering every record sent without a callback, failures included")
    func deliveryReports() async throws {
        try await SamsaTestCluster.with { cluster in
            try await cluster.createTopic("reported", partitions: 2)
            let producer = try producer(cluster) {
                $0.deliveryReports = true
                $0.client.retryBackoffMs = 1
            }
            try await producer.connect(topics: ["reported"])
            let refused = try cluster.failNext(.produce, with: .messageTooLarge)
            try await producer.sendWithoutWaiting(ProducerRecord(topic: "reported", value: "too large", partition: 0))
            await producer.flush()
            #expect(refused.requestCount == 1)
            try await producer.sendWithoutWaiting(
                (0..<100).map { ProducerRecord(topic: "reported", value: "\($0)", partition: Int32($0 % 2)) })
            await producer.close()

            var delivered: [Int32: [Int64]] = [:]
            var failed = 0
            for await report in producer.deliveryReports {
                if let error = report.error {
                    #expect((error as? KafkaError)?.code == .messageTooLarge)
                    failed += report.recordCount
                } else {
                    delivered[report.partition, default: []] += (0..<Int64(report.recordCount)).map { report.baseOffset + $0 }
                }
            }
            #expect(failed == 1)
            #expect(delivered[0] == Array(0..<50) && delivered[1] == Array(0..<50), "every record once, in order")
        }
    }
}
