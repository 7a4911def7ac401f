import SamsaProtocol
import SamsaStorage
import Testing

@testable import SamsaBroker

@Suite("TopicConfigs: the table, validation and LogConfig mapping")
struct TopicConfigsTests {
    @Test("the table has Kafka 4.0's topic configs, sorted, with valid defaults")
    func table() {
        let names = TopicConfigs.definitions.map(\.name)
        #expect(names == names.sorted())
        #expect(Set(names).count == names.count)
        for required in [
            "cleanup.policy", "compression.type", "delete.retention.ms", "file.delete.delay.ms", "flush.messages", "flush.ms",
            "follower.replication.throttled.replicas", "index.interval.bytes", "leader.replication.throttled.replicas",
            "local.retention.bytes", "local.retention.ms", "max.compaction.lag.ms", "max.message.bytes",
            "message.timestamp.after.max.ms", "message.timestamp.before.max.ms", "message.timestamp.type",
            "min.cleanable.dirty.ratio", "min.compaction.lag.ms", "min.insync.replicas", "preallocate", "remote.storage.enable",
            "retention.bytes", "retention.ms", "segment.bytes", "segment.index.bytes", "segment.jitter.ms", "segment.ms",
            "unclean.leader.election.enable",
        ] {
            #expect(names.contains(required), "\(required)")
        }
        #expect(!names.contains("message.downconversion.enable"))
        #expect(!names.contains("message.format.version"))
        for definition in TopicConfigs.definitions {
            let value = definition.defaultValue ?? ""
            #expect(definition.problem(with: value) == nil, "default of \(definition.name)")
        }
    }

    @Test("values are checked by type and range with Kafka's messages")
    func validation() {
        #expect(TopicConfigs.validate(["retention.ms": "-1", "segment.bytes": " 1048576 ", "preallocate": "TRUE"]) == nil)
        #expect(
            TopicConfigs.validate(["segment.bytes": "99999999999"])
                == "Invalid value 99999999999 for configuration segment.bytes: Not a number of type INT")
        #expect(
            TopicConfigs.validate(["min.cleanable.dirty.ratio": "1.5"])
                == "Invalid value 1.5 for configuration min.cleanable.dirty.ratio: Value must be no more than 1")
        #expect(
            TopicConfigs.validate(["compression.type": "brotli"])
                == "Invalid value brotli for configuration compression.type: String must be one of: uncompressed, zstd, lz4, snappy, gzip, producer"
        )
        #expect(TopicConfigs.validate(["compression.gzip.level": "-1"]) == nil)
        #expect(TopicConfigs.validate(["compression.gzip.level": "0"]) != nil)
        #expect(TopicConfigs.validate(["leader.replication.throttled.replicas": "0:1,1:1"]) == nil)
        #expect(TopicConfigs.validate(["leader.replication.throttled.replicas": "*"]) == nil)
        #expect(TopicConfigs.validate(["leader.replication.throttled.replicas": "zero"]) != nil)
        #expect(TopicConfigs.validate(["cleanup.policy": ""]) == nil)
        #expect(
            TopicConfigs.validate(["min.compaction.lag.ms": "10", "max.compaction.lag.ms": "5"])
                == "conflict topic config setting min.compaction.lag.ms (10) > max.compaction.lag.ms (5)")
    }

    @Test("overrides map onto LogConfig; flush settings switch to interval flushing")
    func logConfig() {
        let defaults = LogConfig()
        let config = TopicConfigs.logConfig(
            overrides: [
                "segment.bytes": "1048576", "segment.index.bytes": "4096", "retention.ms": "-1", "retention.bytes": "100",
                "message.timestamp.type": "LogAppendTime", "max.message.bytes": "500", "cleanup.policy": "compact",
                "flush.messages": "10",
            ],
            defaults: defaults)
        #expect(config.segmentBytes == 1_048_576)
        #expect(config.maxIndexEntries == 512)
        #expect(config.retentionMilliseconds == nil)
        #expect(config.retentionBytes == 100)
        #expect(config.timestampType == .logAppendTime)
        #expect(config.maxBatchBytes == 500)
        #expect(config.cleanupPolicy == .compact)
        #expect(config.flushPolicy == .interval(messages: 10, milliseconds: nil))
        let never = TopicConfigs.logConfig(overrides: ["flush.ms": TopicConfigs.longMax], defaults: defaults)
        #expect(never.flushPolicy == .groupCommit)
        #expect(TopicConfigs.logConfig(overrides: [:], defaults: defaults) == defaults)
    }

    @Test("APPEND and SUBTRACT edit list configs starting from the default")
    func incrementalOperations() throws {
        let appended = try TopicConfigs.applying([("cleanup.policy", .append, "compact,delete")], to: [:]).get()
        #expect(appended == ["cleanup.policy": "delete,compact"])
        let subtracted = try TopicConfigs.applying([("cleanup.policy", .subtract, "delete")], to: appended).get()
        #expect(subtracted == ["cleanup.policy": "compact"])
        let replaced = try TopicConfigs.applying([("retention.ms", .set, "5"), ("cleanup.policy", .delete, nil)], to: subtracted).get()
        #expect(replaced == ["retention.ms": "5"])
        if case .failure(let failure) = TopicConfigs.applying([("segment.ms", .subtract, "1")], to: [:]) {
            #expect(failure.code == .invalidConfig)
        } else {
            Issue.record("SUBTRACT on a non-list config was accepted")
        }
    }
}
