import NIOCore
import SamsaRecords
import Testing

@testable import SamsaClient

/// The accumulator's rules for several batches of a partition in flight: order, sequences,
/// and what happens to the batches behind one that failed.
@Suite("Record accumulator")
struct RecordAccumulatorTests {
    typealias Batch = RecordAccumulator.Batch

    /// An accumulator where every record is a batch of its own, sent as soon as it is drained.
    private func accumulator(records: Int, maxInFlight: Int = 5) -> RecordAccumulator {
        var accumulator = RecordAccumulator(
            batchSize: 1, lingerMs: 0, deliveryTimeoutMs: 60_000, compression: .none, maxInFlight: maxInFlight)
        for index in 0..<records {
            _ = accumulator.append(ProducerRecord(topic: "t", value: "\(index)"), partition: 0, timestamp: 0, completion: .none)
        }
        return accumulator
    }

    private func drain(_ accumulator: inout RecordAccumulator) -> [Batch] {
        accumulator.drain(now: .now, idempotent: true).ready
    }

    @Test("one batch goes alone until the broker acknowledged one; then up to five, with consecutive sequences")
    func pipelinesAfterTheFirstAcknowledgement() {
        var accumulator = accumulator(records: 8)
        let first = drain(&accumulator)
        #expect(first.map(\.builder.baseSequence) == [0])
        #expect(drain(&accumulator).isEmpty, "nothing more before the first answer")
        #expect(accumulator.finish(first[0], acknowledged: true) != nil)
        let next = drain(&accumulator)
        #expect(next.map(\.builder.baseSequence) == [1, 2, 3, 4, 5])
        #expect(drain(&accumulator).isEmpty, "five in flight is the limit")
        #expect(accumulator.finish(next[0], acknowledged: true) != nil)
        #expect(drain(&accumulator).map(\.builder.baseSequence) == [6])
    }

    @Test("a failed batch goes again alone and first; the ones behind it, refused for their sequence, follow one by one")
    func retriesInOrder() {
        var accumulator = accumulator(records: 7)
        let first = drain(&accumulator)
        _ = accumulator.finish(first[0], acknowledged: true)
        let sent = drain(&accumulator)
        #expect(sent.count == 5)
        accumulator.retry(sent[0], at: .now - .seconds(1), error: "NOT_LEADER_OR_FOLLOWER")
        #expect(drain(&accumulator).isEmpty, "the retry waits until nothing of the partition is in flight")
        #expect(!accumulator.sequenceRefusalIsExpected(sent[0]), "the first unacknowledged batch has no excuse")
        for batch in sent.dropFirst() {
            #expect(accumulator.sequenceRefusalIsExpected(batch), "an earlier batch is not acknowledged yet")
            accumulator.retry(batch, at: .now - .seconds(1), error: "OUT_OF_ORDER_SEQUENCE_NUMBER")
        }
        var order: [Int32] = []
        while accumulator.unfinishedRecords > 0 {
            let round = drain(&accumulator)
            if round.allSatisfy({ $0.attempts > 0 }) { #expect(round.count == 1, "a batch sent again goes alone") }
            order += round.map(\.builder.baseSequence)
            for batch in round { _ = accumulator.finish(batch, acknowledged: true) }
        }
        #expect(order == [1, 2, 3, 4, 5, 6], "the same sequences, in order")
    }

    @Test("a batch refused for good gives its sequence to the ones behind it, which wait for their answers first")
    func refusedBatchRollsBackSequences() {
        var accumulator = accumulator(records: 5)
        _ = accumulator.finish(drain(&accumulator)[0], acknowledged: true)
        let sent = drain(&accumulator)
        #expect(sent.map(\.builder.baseSequence) == [1, 2, 3, 4])
        #expect(accumulator.finish(sent[0], acknowledged: false) != nil)
        accumulator.rollBackSequence(after: sent[0])
        #expect(drain(&accumulator).isEmpty, "the batches in flight with given-up sequences come back first")
        for batch in sent.dropFirst() {
            #expect(accumulator.sequenceRefusalIsExpected(batch))
            accumulator.retry(batch, at: .now - .seconds(1), error: "OUT_OF_ORDER_SEQUENCE_NUMBER")
        }
        var order: [Int32] = []
        while accumulator.unfinishedRecords > 0 {
            let round = drain(&accumulator)
            order += round.map(\.builder.baseSequence)
            for batch in round { _ = accumulator.finish(batch, acknowledged: true) }
        }
        #expect(order == [1, 2, 3], "renumbered from the refused batch's sequence")
    }

    @Test("without idempotence there are no sequences, and the first batches pipeline at once")
    func withoutIdempotence() {
        var accumulator = accumulator(records: 3, maxInFlight: 2)
        let sent = accumulator.drain(now: .now, idempotent: false).ready
        #expect(sent.count == 2)
        #expect(sent.allSatisfy { $0.builder.baseSequence < 0 })
    }
}
