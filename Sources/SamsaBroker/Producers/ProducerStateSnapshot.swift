import NIOCore
import SamsaBinary
import SamsaStorage

/// A partition's producer table as of one log end offset, kept in the partition directory
/// (`producer-state`, like Kafka's `<offset>.snapshot`), so a restart restores every producer
/// (not only those seen in the recovery window) and scans only the batches written after it.
///
/// Layout (big-endian), replaced atomically (write `.tmp`, fsync, rename, fsync directory;
/// the log loader removes a `.tmp` left by a crash):
/// ```
///  0  4  magic "SMPS"
///  4  2  version = 0
///  6  8  log end offset covered: every batch below it is in the table
/// 14  4  producer count n
///  then n producers:
///     8  producer id
///     2  epoch
///     8  last append time (ms)
///     4  batch count k (1...5)
///     24×k  last sequence (4), last offset (8), offset delta (4), timestamp (8), oldest first
///  …  4  CRC-32C of everything before
/// ```
struct ProducerStateSnapshot: Sendable {
    static let fileName = "producer-state"
    private static let magic: UInt32 = 0x534D_5053
    private static let headerSize = 18
    private static let producerSize = 22
    private static let batchSize = 24

    /// The log end offset when the snapshot was taken.
    var offset: Int64
    var table: ProducerTable

    /// The snapshot's path in the partition directory `directory`.
    static func path(in directory: String) -> String {
        StoragePath.join(directory, fileName)
    }

    func encoded() -> ByteBuffer {
        let producers = table.producers.sorted { $0.key < $1.key }
        let batchCount = producers.reduce(0) { $0 + $1.value.batches.count }
        var buffer = ByteBufferAllocator().buffer(
            capacity: Self.headerSize + Self.producerSize * producers.count + Self.batchSize * batchCount + 4)
        buffer.writeInteger(Self.magic, endianness: .big)
        buffer.writeInteger(Int16(0), endianness: .big)
        buffer.writeInteger(offset, endianness: .big)
        buffer.writeInteger(Int32(producers.count), endianness: .big)
        for (producerId, entry) in producers {
            buffer.writeInteger(producerId, endianness: .big)
            buffer.writeInteger(entry.epoch, endianness: .big)
            buffer.writeInteger(entry.lastAppendTime, endianness: .big)
            buffer.writeInteger(Int32(entry.batches.count), endianness: .big)
            for batch in entry.batches {
                buffer.writeInteger(batch.lastSequence, endianness: .big)
                buffer.writeInteger(batch.lastOffset, endianness: .big)
                buffer.writeInteger(batch.offsetDelta, endianness: .big)
                buffer.writeInteger(batch.timestamp, endianness: .big)
            }
        }
        buffer.writeInteger(CRC32C.checksum(buffer), endianness: .big)
        return buffer
    }

    /// Decodes a snapshot file's contents; nil when the file is damaged in any way (bad magic,
    /// version, checksum, counts or values), since a damaged snapshot is simply not used.
    static func decode(_ contents: ByteBuffer) -> ProducerStateSnapshot? {
        guard contents.readableBytes >= headerSize + 4 else { return nil }
        let body = contents.getSlice(at: contents.readerIndex, length: contents.readableBytes - 4)!
        guard let stored = contents.getInteger(at: contents.writerIndex - 4, endianness: .big, as: UInt32.self),
            CRC32C.checksum(body) == stored
        else { return nil }
        var buffer = body
        guard buffer.readInteger(endianness: .big, as: UInt32.self) == magic,
            buffer.readInteger(endianness: .big, as: Int16.self) == 0,
            let offset = buffer.readInteger(endianness: .big, as: Int64.self), offset >= 0,
            let count = buffer.readInteger(endianness: .big, as: Int32.self), count >= 0,
            Int(count) <= buffer.readableBytes / (producerSize + batchSize)
        else { return nil }
        var producers: [Int64: ProducerStateEntry] = [:]
        producers.reserveCapacity(Int(count))
        for _ in 0..<count {
            guard let producerId = buffer.readInteger(endianness: .big, as: Int64.self),
                let epoch = buffer.readInteger(endianness: .big, as: Int16.self),
                let lastAppendTime = buffer.readInteger(endianness: .big, as: Int64.self),
                let batchCount = buffer.readInteger(endianness: .big, as: Int32.self),
                (1...Int32(ProducerStateEntry.retainedBatchCount)).contains(batchCount),
                producers[producerId] == nil
            else { return nil }
            var batches: [ProducerBatchMetadata] = []
            batches.reserveCapacity(Int(batchCount))
            for _ in 0..<batchCount {
                guard let lastSequence = buffer.readInteger(endianness: .big, as: Int32.self),
                    let lastOffset = buffer.readInteger(endianness: .big, as: Int64.self),
                    let offsetDelta = buffer.readInteger(endianness: .big, as: Int32.self),
                    let timestamp = buffer.readInteger(endianness: .big, as: Int64.self),
                    lastSequence >= 0, offsetDelta >= 0, lastOffset < offset
                else { return nil }
                batches.append(
                    ProducerBatchMetadata(
                        lastSequence: lastSequence, lastOffset: lastOffset, offsetDelta: offsetDelta, timestamp: timestamp))
            }
            producers[producerId] = ProducerStateEntry(epoch: epoch, batches: batches, lastAppendTime: lastAppendTime)
        }
        guard buffer.readableBytes == 0 else { return nil }
        return ProducerStateSnapshot(offset: offset, table: ProducerTable(producers: producers))
    }

    /// What a partition directory holds.
    enum Stored: Sendable {
        case missing
        /// A file that cannot be used (callers fall back to scanning the log).
        case damaged
        case valid(ProducerStateSnapshot)
    }

    /// Reads the snapshot of the partition in `directory`. Blocking file I/O.
    static func read(directory: String, fileSystem: any FileSystem) throws -> Stored {
        let path = path(in: directory)
        guard fileSystem.exists(at: path) else { return .missing }
        let file = try fileSystem.openFile(at: path, create: false)
        let size = try file.size()
        // A table of millions of producers would be far smaller than this: treat it as damage.
        guard size <= 1 << 30 else { return .damaged }
        return decode(try file.read(at: 0, count: Int(size))).map { .valid($0) } ?? .damaged
    }

    /// Replaces the snapshot of the partition in `directory` atomically and durably. Blocking.
    func write(directory: String, fileSystem: any FileSystem) throws {
        let path = Self.path(in: directory)
        let temporary = path + LogFileNames.temporarySuffix
        let file = try fileSystem.openFile(at: temporary, create: true)
        try file.truncate(to: 0)
        try file.write(encoded(), at: 0)
        try file.sync()
        try fileSystem.rename(from: temporary, to: path)
        try fileSystem.syncDirectory(at: directory)
    }
}
