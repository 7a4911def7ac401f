import Logging
import NIOConcurrencyHelpers
import NIOCore
import SamsaBinary
import SamsaProtocol
import SamsaRecords

/// How fetched records reach the application: `records`, `batches`, and the positions they move.
extension KafkaConsumer {
    // MARK: Records

    /// The records of the assigned partitions, in order per partition. Ends when the consumer
    /// closes; throws when fetching failed for good, or `CancellationError` when the task
    /// waiting for records is cancelled.
    public var records: ConsumerRecords { ConsumerRecords(consumer: self) }

    /// The records as an `AsyncSequence`.
    public struct ConsumerRecords: AsyncSequence, Sendable {
        public typealias Element = ConsumerRecord
        let consumer: KafkaConsumer

        public func makeAsyncIterator() -> Iterator { Iterator(consumer: consumer) }

        public struct Iterator: AsyncIteratorProtocol {
            let consumer: KafkaConsumer
            var chunk: Chunk?
            var index = 0

            public mutating func next() async throws -> ConsumerRecord? {
                while true {
                    if let current = chunk, index < current.records.count {
                        let record = current.records[index]
                        index += 1
                        // After the chunk's last record the position moves to the chunk's end, past
                        // markers, as Kafka's consumer positions do.
                        let position = index == current.records.count ? current.next : record.offset + 1
                        if consumer.handOut(record, epoch: current.epoch, position: position) { return record }
                        continue
                    }
                    chunk = nil
                    index = 0
                    guard let next = try await consumer.nextChunk() else { return nil }
                    chunk = next
                }
            }
        }
    }

    /// The records in batches, as they were fetched: each batch holds records of one partition,
    /// in order. Handing out a batch moves the partition's position past all of it, so a
    /// commit after processing the batch covers every record in it (KafkaJS's `eachBatch`).
    public var batches: ConsumerBatches { ConsumerBatches(consumer: self) }

    /// The record batches as an `AsyncSequence`.
    public struct ConsumerBatches: AsyncSequence, Sendable {
        public typealias Element = [ConsumerRecord]
        let consumer: KafkaConsumer

        public func makeAsyncIterator() -> Iterator { Iterator(consumer: consumer) }

        public struct Iterator: AsyncIteratorProtocol {
            let consumer: KafkaConsumer

            public mutating func next() async throws -> [ConsumerRecord]? {
                while let chunk = try await consumer.nextChunk() {
                    guard let last = chunk.records.last,
                        consumer.handOut(last, epoch: chunk.epoch, position: chunk.next)
                    else { continue }
                    return chunk.records
                }
                return nil
            }
        }
    }

    /// Records a record as handed out (its partition's position moves past it); false when a
    /// seek made it stale or the consumer is closed.
    func handOut(_ record: ConsumerRecord, epoch: Int, position: Int64) -> Bool {
        state.withLockedValue { state in
            let key = TopicPartition(record.topic, record.partition)
            // Nothing is handed out after close: its commit (or the group's next owner) has
            // already taken over from here.
            guard !state.closed, var entry = state.partitions[key], entry.epoch == epoch else { return false }
            entry.consumed = position
            state.partitions[key] = entry
            return true
        }
    }

    /// The next buffered chunk, waiting for one; nil once closed. A cancelled task waiting for
    /// records gets `CancellationError`.
    func nextChunk() async throws -> Chunk? {
        while true {
            let (chunk, closed, failure) = state.withLockedValue { state -> (Chunk?, Bool, (any Error)?) in
                if let failure = state.failure { return (nil, false, failure) }
                if state.closed { return (nil, true, nil) }
                while !state.chunks.isEmpty {
                    let chunk = state.chunks.removeFirst()
                    state.bufferedBytes -= chunk.bytes
                    if state.partitions[chunk.partition]?.epoch == chunk.epoch { return (chunk, false, nil) }
                }
                return (nil, false, nil)
            }
            if let failure { throw failure }
            if closed { return nil }
            if let chunk {
                fetchWake.fire()
                return chunk
            }
            try Task.checkCancellation()
            await recordsWake.wait(until: nil)
        }
    }
}
