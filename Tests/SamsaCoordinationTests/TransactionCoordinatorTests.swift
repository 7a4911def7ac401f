import NIOCore
import SamsaBinary
import SamsaCoordination
import SamsaProtocol
import Testing

/// The transaction coordinator's state machine: every transition and error, with explicit time.
@Suite("Transaction coordinator state machine")
struct TransactionCoordinatorTests {
    typealias IdAndEpoch = TransactionCoordinatorState.ProducerIdAndEpoch

    /// A machine with a producer id counter, checking that every state change it persists is
    /// one Kafka allows.
    struct Harness {
        var machine = TransactionCoordinatorState(settings: TransactionCoordinatorSettings(transactionalIdExpirationMs: 100_000))
        var nextProducerId: Int64 = 1000
        var now: Int64 = 1_000_000

        mutating func check(_ actions: [TransactionAction], from before: TransactionState?) {
            var previous = before
            for case .persist(let metadata) in actions {
                if let previous {
                    #expect(previous.validNextStates.contains(metadata.state), "\(previous) → \(metadata.state)")
                }
                previous = metadata.state
            }
        }

        mutating func initId(
            _ id: String = "tx", timeout: Int32 = 60_000, expected: IdAndEpoch? = nil
        )
            -> (Result<IdAndEpoch, TransactionError>, [TransactionAction])
        {
            let before = machine.transactions[id]?.state
            var counter = nextProducerId
            let outcome = machine.initProducerId(
                transactionalId: id, transactionTimeoutMs: timeout, expected: expected, now: now,
                allocateProducerId: {
                    counter += 1
                    return counter
                })
            nextProducerId = counter
            check(outcome.1, from: before)
            return outcome
        }

        mutating func add(
            _ producer: IdAndEpoch, _ partitions: [TransactionPartition], id: String = "tx"
        )
            -> (Result<Void, TransactionError>, [TransactionAction])
        {
            let before = machine.transactions[id]?.state
            let outcome = machine.addPartitions(
                transactionalId: id, producerId: producer.producerId, producerEpoch: producer.producerEpoch, partitions: partitions,
                now: now)
            check(outcome.1, from: before)
            return outcome
        }

        mutating func end(
            _ producer: IdAndEpoch, commit: Bool, id: String = "tx", bumpsEpoch: Bool = false
        ) -> (Result<IdAndEpoch, TransactionError>, [TransactionAction]) {
            let before = machine.transactions[id]?.state
            var counter = nextProducerId
            let outcome = machine.endTransaction(
                transactionalId: id, producerId: producer.producerId, producerEpoch: producer.producerEpoch, commit: commit,
                bumpsEpoch: bumpsEpoch, now: now,
                allocateProducerId: {
                    counter += 1
                    return counter
                })
            nextProducerId = counter
            check(outcome.1, from: before)
            return outcome
        }

        var state: TransactionState? { machine.transactions["tx"]?.state }
    }

    let a0 = TransactionPartition(topic: "a", partition: 0)
    let a1 = TransactionPartition(topic: "a", partition: 1)
    let offsets = TransactionPartition(topic: "__consumer_offsets", partition: 7)

    private func error<Value>(_ outcome: (Result<Value, TransactionError>, [TransactionAction])) -> TransactionError? {
        if case .failure(let error) = outcome.0 { return error }
        return nil
    }

    @Test("InitProducerId maps a new id to a new producer id at epoch 0, then bumps the epoch")
    func initAndBump() throws {
        var harness = Harness()
        let first = try harness.initId().0.get()
        #expect(first == IdAndEpoch(producerId: 1001, producerEpoch: 0))
        #expect(harness.state == .empty)
        let second = try harness.initId().0.get()
        #expect(second == IdAndEpoch(producerId: 1001, producerEpoch: 1), "same producer id, epoch bumped: the old producer is fenced")
        #expect(harness.machine.transactions["tx"]?.lastProducerEpoch == 0)
        #expect(error(harness.add(first, [a0])) == .producerFenced)
    }

    @Test("a timeout of zero or above transaction.max.timeout.ms is INVALID_TRANSACTION_TIMEOUT")
    func timeoutBounds() {
        var harness = Harness()
        #expect(error(harness.initId(timeout: 0)) == .invalidTransactionTimeout)
        #expect(error(harness.initId(timeout: 900_001)) == .invalidTransactionTimeout)
        #expect(harness.machine.transactions.isEmpty)
        #expect(error(harness.initId(timeout: 900_000)) == nil)
    }

    @Test("AddPartitions starts the transaction; wrong producer ids and stale epochs are refused")
    func addPartitions() throws {
        var harness = Harness()
        let producer = try harness.initId().0.get()
        #expect(error(harness.add(producer, [a0], id: "other")) == .invalidProducerIdMapping)
        #expect(error(harness.add(IdAndEpoch(producerId: 5, producerEpoch: 0), [a0])) == .invalidProducerIdMapping)
        #expect(error(harness.add(IdAndEpoch(producerId: producer.producerId, producerEpoch: 3), [a0])) == .producerFenced)
        harness.now += 10
        let (added, actions) = harness.add(producer, [a0])
        #expect((try? added.get()) != nil)
        #expect(actions.count == 1)
        #expect(harness.state == .ongoing)
        #expect(harness.machine.transactions["tx"]?.transactionStartTimestamp == harness.now)
        #expect(harness.add(producer, [a0]).1.isEmpty, "nothing new: nothing to persist")
        #expect(harness.add(producer, [a1, offsets]).1.count == 1)
        #expect(harness.machine.transactions["tx"]?.partitions == [a0, a1, offsets])
        #expect(
            harness.machine.isInTransaction(a1, transactionalId: "tx", producerId: producer.producerId, producerEpoch: 0) == .success(true))
        let other = TransactionPartition(topic: "b", partition: 0)
        #expect(
            harness.machine.isInTransaction(other, transactionalId: "tx", producerId: producer.producerId, producerEpoch: 0)
                == .success(false))
    }

    @Test("commit: prepare, markers to every partition, complete; retries answer the same; the other way is INVALID_TXN_STATE")
    func commit() throws {
        var harness = Harness()
        let producer = try harness.initId().0.get()
        #expect(error(harness.end(producer, commit: true)) == .invalidTxnState, "no transaction to end")
        _ = harness.add(producer, [a1, a0, offsets])
        let (ended, actions) = harness.end(producer, commit: true)
        #expect((try? ended.get()) != nil)
        #expect(harness.state == .prepareCommit)
        guard actions.count == 2, case .persist = actions[0],
            case .writeMarkers(let id, let pid, let epoch, let commit, let partitions) = actions[1]
        else {
            Issue.record("expected persist then markers, got \(actions)")
            return
        }
        #expect(id == "tx" && pid == producer.producerId && epoch == 0 && commit)
        #expect(partitions == [offsets, a0, a1])
        #expect(error(harness.end(producer, commit: true)) == .concurrentTransactions, "a retry while the markers are written")
        #expect(error(harness.add(producer, [a0])) == .concurrentTransactions)
        #expect(error(harness.initId()) == .concurrentTransactions)
        let completed = harness.machine.markersWritten(transactionalId: "tx", now: harness.now)
        #expect(completed.count == 1)
        #expect(harness.state == .completeCommit)
        #expect(harness.machine.transactions["tx"]?.partitions.isEmpty == true)
        #expect(error(harness.end(producer, commit: true)) == nil, "a retried commit of a committed transaction succeeds")
        #expect(error(harness.end(producer, commit: false)) == .invalidTxnState)
        // The next transaction starts from the complete state.
        _ = harness.add(producer, [a0])
        #expect(harness.state == .ongoing)
        _ = harness.end(producer, commit: false)
        #expect(harness.state == .prepareAbort)
        _ = harness.machine.markersWritten(transactionalId: "tx", now: harness.now)
        #expect(harness.state == .completeAbort)
        #expect(error(harness.end(producer, commit: true)) == .invalidTxnState)
    }

    @Test("a new producer fences an ongoing transaction: abort at a bumped epoch, CONCURRENT_TRANSACTIONS until it completes")
    func fencing() throws {
        var harness = Harness()
        let zombie = try harness.initId().0.get()
        _ = harness.add(zombie, [a0])
        let (result, actions) = harness.initId()
        #expect(error((result, actions)) == .concurrentTransactions)
        #expect(harness.state == .prepareAbort)
        #expect(harness.machine.transactions["tx"]?.producerEpoch == 1)
        #expect(
            actions.contains(
                .writeMarkers(transactionalId: "tx", producerId: zombie.producerId, producerEpoch: 1, commit: false, partitions: [a0])))
        #expect(error(harness.end(zombie, commit: true)) == .producerFenced)
        #expect(error(harness.add(zombie, [a1])) == .producerFenced)
        #expect(error(harness.initId()) == .concurrentTransactions, "the abort is still being written")
        _ = harness.machine.markersWritten(transactionalId: "tx", now: harness.now)
        #expect(harness.state == .completeAbort)
        let fresh = try harness.initId().0.get()
        #expect(fresh == IdAndEpoch(producerId: zombie.producerId, producerEpoch: 2))
    }

    @Test("the coordinator aborts a transaction past its timeout and bumps the epoch")
    func transactionTimeout() throws {
        var harness = Harness()
        let producer = try harness.initId(timeout: 5_000).0.get()
        _ = harness.add(producer, [a0, a1])
        let started = harness.now
        #expect(harness.machine.nextDeadline == started + 5_000)
        #expect(harness.machine.expire(now: started + 4_999).isEmpty)
        let actions = harness.machine.expire(now: started + 5_000)
        #expect(harness.state == .prepareAbort)
        #expect(
            actions.contains(
                .writeMarkers(
                    transactionalId: "tx", producerId: producer.producerId, producerEpoch: 1, commit: false, partitions: [a0, a1])))
        _ = harness.machine.markersWritten(transactionalId: "tx", now: started + 5_001)
        #expect(error(harness.end(producer, commit: true)) == .producerFenced, "the silent producer's next call is fenced")
    }

    @Test("idle transactional ids expire after transactional.id.expiration.ms")
    func idExpiration() throws {
        var harness = Harness()
        _ = try harness.initId().0.get()
        #expect(harness.machine.nextDeadline == harness.now + 100_000)
        #expect(harness.machine.expire(now: harness.now + 99_999).isEmpty)
        #expect(harness.machine.expire(now: harness.now + 100_000) == [.remove(transactionalId: "tx")])
        #expect(harness.machine.transactions["tx"] == nil)
    }

    @Test("KIP-360: the current or just-bumped epoch may re-initialise; others are fenced; a lost answer is repeated")
    func kip360() throws {
        var harness = Harness()
        let first = try harness.initId().0.get()
        let bumped = try harness.initId(expected: first).0.get()
        #expect(bumped.producerEpoch == 1)
        // The answer was lost: the producer asks again with its old epoch and gets the same one.
        #expect(try harness.initId(expected: first).0.get() == bumped)
        #expect(error(harness.initId(expected: IdAndEpoch(producerId: first.producerId, producerEpoch: 7))) == .producerFenced)
        #expect(error(harness.initId(expected: IdAndEpoch(producerId: 99, producerEpoch: 0))) == .producerFenced)
        // An id the coordinator does not know takes the expected pair as a recovery: a new id at epoch 0.
        #expect(try harness.initId("unknown", expected: IdAndEpoch(producerId: 99, producerEpoch: 4)).0.get().producerEpoch == 0)
    }

    @Test("a fence at epoch Int16.max - 1 takes Int16.max; the next InitProducerId moves to a new producer id")
    func fenceAtLastEpoch() throws {
        var harness = Harness()
        var metadata = TransactionMetadata(
            transactionalId: "tx", producerId: 77, producerEpoch: Int16.max - 1, transactionTimeoutMs: 60_000, state: .ongoing,
            lastUpdateTimestamp: harness.now)
        metadata.partitions = [a0]
        metadata.transactionStartTimestamp = harness.now
        harness.machine.restore([("tx", metadata)])
        let (result, actions) = harness.initId()
        #expect(error((result, actions)) == .concurrentTransactions)
        #expect(harness.machine.transactions["tx"]?.producerEpoch == Int16.max, "the old producer's epoch is fenced")
        #expect(
            actions.contains(
                .writeMarkers(transactionalId: "tx", producerId: 77, producerEpoch: Int16.max, commit: false, partitions: [a0])))
        _ = harness.machine.markersWritten(transactionalId: "tx", now: harness.now)
        let next = try harness.initId().0.get()
        #expect(next == IdAndEpoch(producerId: 1001, producerEpoch: 0))
        #expect(harness.machine.transactions["tx"]?.previousProducerId == 77)
    }

    @Test("when the epoch runs out a new producer id starts at epoch 0 and the old one is remembered")
    func epochExhaustion() throws {
        var harness = Harness()
        var metadata = TransactionMetadata(
            transactionalId: "tx", producerId: 77, producerEpoch: Int16.max - 1, transactionTimeoutMs: 60_000, state: .completeCommit,
            lastUpdateTimestamp: harness.now)
        metadata.lastProducerEpoch = Int16.max - 2
        harness.machine.restore([("tx", metadata)])
        let next = try harness.initId().0.get()
        #expect(next == IdAndEpoch(producerId: 1001, producerEpoch: 0))
        #expect(harness.machine.transactions["tx"]?.previousProducerId == 77)
        #expect(error(harness.initId(expected: IdAndEpoch(producerId: 77, producerEpoch: Int16.max - 1))) == nil)
    }

    @Test("V2: each ending bumps the epoch; the last epochs end on a new producer id, which a retry and a restart keep")
    func v2EpochBumps() throws {
        var harness = Harness()
        let first = try harness.initId().0.get()
        _ = harness.add(first, [a0])
        let (result, actions) = harness.end(first, commit: true, bumpsEpoch: true)
        let next = try result.get()
        #expect(next == IdAndEpoch(producerId: first.producerId, producerEpoch: 1))
        #expect(
            actions.contains(
                .writeMarkers(transactionalId: "tx", producerId: first.producerId, producerEpoch: 1, commit: true, partitions: [a0])),
            "the markers carry the new epoch")
        _ = harness.machine.markersWritten(transactionalId: "tx", now: harness.now)
        #expect(error(harness.add(first, [a0])) == .producerFenced, "the ended epoch is fenced")

        // Epochs run out: the markers take Int16.max, the producer moves to a new id at epoch 0.
        var worn = try #require(harness.machine.transactions["tx"])
        worn.producerEpoch = Int16.max - 1
        worn.state = .ongoing
        worn.partitions = [a1]
        worn.transactionStartTimestamp = harness.now
        harness.machine.restore([("tx", worn)])
        let last = IdAndEpoch(producerId: first.producerId, producerEpoch: Int16.max - 1)
        let (moved, markers) = harness.end(last, commit: false, bumpsEpoch: true)
        let newId = try moved.get()
        #expect(newId.producerEpoch == 0 && newId.producerId != first.producerId)
        #expect(
            markers.contains(
                .writeMarkers(
                    transactionalId: "tx", producerId: first.producerId, producerEpoch: Int16.max, commit: false, partitions: [a1])))
        // A restart before the markers keeps the move: the prepared record carries the next id.
        let prepared = try #require(harness.machine.transactions["tx"])
        let replayed = try TransactionStateRecord.decodeValue(TransactionStateRecord.encodeValue(prepared), transactionalId: "tx")
        #expect(replayed.nextProducerId == newId.producerId)
        #expect(error(harness.end(last, commit: false, bumpsEpoch: true)) == .concurrentTransactions, "a retry while the markers go")
        _ = harness.machine.markersWritten(transactionalId: "tx", now: harness.now)
        let complete = try #require(harness.machine.transactions["tx"])
        #expect(complete.producerId == newId.producerId && complete.producerEpoch == 0 && complete.previousProducerId == first.producerId)
        // The old id's retry is recognised after the move.
        #expect(try harness.end(last, commit: false, bumpsEpoch: true).0.get() == newId)
        #expect(error(harness.end(last, commit: true, bumpsEpoch: true)) == .invalidTxnState)
    }

    @Test("after a restart, transactions caught between prepare and complete have their markers written again")
    func recovery() {
        var harness = Harness()
        var committing = TransactionMetadata(
            transactionalId: "c", producerId: 5, producerEpoch: 2, transactionTimeoutMs: 60_000, state: .prepareCommit,
            lastUpdateTimestamp: 1)
        committing.partitions = [a1, a0]
        var done = committing
        done.transactionalId = "d"
        done.state = .completeCommit
        harness.machine.restore([("c", committing), ("d", done), ("gone", done), ("gone", nil)])
        #expect(harness.machine.transactions.keys.sorted() == ["c", "d"])
        #expect(
            harness.machine.pendingCompletions == [
                .writeMarkers(transactionalId: "c", producerId: 5, producerEpoch: 2, commit: true, partitions: [a0, a1])
            ])
        _ = harness.machine.markersWritten(transactionalId: "c", now: 2)
        #expect(harness.machine.pendingCompletions.isEmpty)
    }

    @Test("ListTransactions filters by state, producer id and duration")
    func listing() throws {
        var harness = Harness()
        let x = try harness.initId("x").0.get()
        _ = try harness.initId("y").0.get()
        _ = harness.add(x, [a0], id: "x")
        harness.now += 1_000
        #expect(harness.machine.list(now: harness.now).map(\.transactionalId) == ["x", "y"])
        #expect(harness.machine.list(states: [.ongoing], now: harness.now).map(\.transactionalId) == ["x"])
        #expect(harness.machine.list(producerIds: [x.producerId], now: harness.now).map(\.transactionalId) == ["x"])
        #expect(harness.machine.list(minimumDurationMs: 1_000, now: harness.now).map(\.transactionalId) == ["x"])
        #expect(harness.machine.list(minimumDurationMs: 1_001, now: harness.now).isEmpty)
        #expect(TransactionState(name: "PrepareEpochFence") == .prepareEpochFence)
        #expect(TransactionState.allCases.map(\.description).count == 8)
    }

    @Test("__transaction_state records: golden key, value round trip, version 1 read, truncation fails")
    func records() throws {
        #expect(Array(TransactionStateRecord.encodeKey("tx").readableBytesView) == [0, 0, 0, 2, 0x74, 0x78])
        var metadata = TransactionMetadata(
            transactionalId: "tx", producerId: 42, producerEpoch: 3, transactionTimeoutMs: 60_000, state: .ongoing, lastUpdateTimestamp: 9)
        metadata.partitions = [a0, a1, offsets]
        metadata.transactionStartTimestamp = 8
        let value = TransactionStateRecord.encodeValue(metadata)
        #expect(try TransactionStateRecord.decodeKey(TransactionStateRecord.encodeKey("tx")) == "tx")
        #expect(try TransactionStateRecord.decodeValue(value, transactionalId: "tx") == metadata)
        for cut in 0..<value.readableBytes {
            #expect(throws: WireFormatError.self) {
                try TransactionStateRecord.decodeValue(value.getSlice(at: 0, length: cut)!, transactionalId: "tx")
            }
        }
        // Version 1 (flexible), built by hand: compact strings and arrays, tagged previous producer id.
        var v1 = ByteBuffer()
        v1.writeKafkaInt16(1)
        v1.writeKafkaInt64(42)
        v1.writeKafkaInt16(3)
        v1.writeKafkaInt32(60_000)
        v1.writeKafkaInt8(TransactionState.completeAbort.rawValue)
        v1.writeCompactArrayCount(1)
        v1.writeCompactString("a")
        v1.writeCompactArrayCount(1)
        v1.writeKafkaInt32(1)
        v1.writeEmptyTaggedFields()
        v1.writeKafkaInt64(9)
        v1.writeKafkaInt64(-1)
        var previous = ByteBuffer()
        previous.writeKafkaInt64(41)
        v1.writeTaggedFields([TaggedField(tag: 0, data: previous)])
        let decoded = try TransactionStateRecord.decodeValue(v1, transactionalId: "tx")
        #expect(decoded.state == .completeAbort)
        #expect(decoded.partitions == [a1])
        #expect(decoded.previousProducerId == 41)
        // Metadata with a previous producer id is written as version 1, byte for byte as built above.
        var rotated = decoded
        rotated.lastUpdateTimestamp = 9
        let written = TransactionStateRecord.encodeValue(rotated)
        #expect(written == v1)
        #expect(try TransactionStateRecord.decodeValue(written, transactionalId: "tx") == rotated)
        var unknown = value
        unknown.setInteger(Int16(9), at: unknown.readerIndex)
        #expect(throws: WireFormatError.self) { try TransactionStateRecord.decodeValue(unknown, transactionalId: "tx") }
    }
}
