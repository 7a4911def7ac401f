import NIOConcurrencyHelpers
import NIOCore
import SamsaBinary
import SamsaStorage

/// Hands out producer ids that are never reused, even across restarts and crashes.
///
/// Ids are reserved in blocks (as Kafka's controller does): before the first id of a block is
/// given out, the end of the block is written durably to `<data dir>/producer-ids`. After a
/// restart, allocation resumes after the last reserved block, so at most a block's worth of
/// ids is skipped and none is given twice.
///
/// File layout (big-endian), replaced atomically (write `.tmp`, fsync, rename, fsync dir):
/// ```
///  0  4  magic "SMPI"
///  4  2  version = 0
///  6  8  next unreserved producer id
/// 14  4  CRC-32C of bytes [0, 14)
/// ```
package final class ProducerIdManager: Sendable {
    static let fileName = "producer-ids"
    private static let magic: UInt32 = 0x534D_5049
    /// Ids reserved per durable write.
    static let blockSize: Int64 = 1000

    private let path: String
    private let directory: String
    private let fileSystem: any FileSystem
    /// The next id to give and the end (exclusive) of the reserved block.
    private let state: NIOLockedValueBox<(next: Int64, reservedEnd: Int64)>

    /// Reads the reservation file in `dataDirectory`; throws if it exists but is damaged,
    /// since guessing could hand out an id twice.
    package init(dataDirectory: String, fileSystem: any FileSystem) throws {
        self.directory = dataDirectory
        self.path = StoragePath.join(dataDirectory, Self.fileName)
        self.fileSystem = fileSystem
        try fileSystem.createDirectory(at: dataDirectory)
        var next: Int64 = 0
        if fileSystem.exists(at: path) {
            let file = try fileSystem.openFile(at: path, create: false)
            next = try Self.decode(try file.read(at: 0, count: Int(try file.size())), path: path)
        }
        state = NIOLockedValueBox((next: next, reservedEnd: next))
    }

    /// A producer id never given before. Blocks on an fsync once per block: call it on
    /// ``BlockingWork``.
    package func nextProducerId() throws -> Int64 {
        try state.withLockedValue { state in
            if state.next == state.reservedEnd {
                let end = state.reservedEnd + Self.blockSize
                try write(end)
                state.reservedEnd = end
            }
            defer { state.next += 1 }
            return state.next
        }
    }

    private func write(_ next: Int64) throws {
        var buffer = ByteBufferAllocator().buffer(capacity: 18)
        buffer.writeInteger(Self.magic, endianness: .big)
        buffer.writeInteger(Int16(0), endianness: .big)
        buffer.writeInteger(next, endianness: .big)
        buffer.writeInteger(CRC32C.checksum(buffer), endianness: .big)
        let temporary = path + LogFileNames.temporarySuffix
        let file = try fileSystem.openFile(at: temporary, create: true)
        try file.truncate(to: 0)
        try file.write(buffer, at: 0)
        try file.sync()
        try fileSystem.rename(from: temporary, to: path)
        try fileSystem.syncDirectory(at: directory)
    }

    private static func decode(_ buffer: ByteBuffer, path: String) throws -> Int64 {
        guard buffer.readableBytes == 18,
            buffer.getInteger(at: buffer.readerIndex, endianness: .big, as: UInt32.self) == magic,
            buffer.getInteger(at: buffer.readerIndex + 4, endianness: .big, as: Int16.self) == 0,
            let next = buffer.getInteger(at: buffer.readerIndex + 6, endianness: .big, as: Int64.self),
            let stored = buffer.getInteger(at: buffer.readerIndex + 14, endianness: .big, as: UInt32.self),
            CRC32C.checksum(buffer.getSlice(at: buffer.readerIndex, length: 14)!) == stored,
            next >= 0
        else { throw StorageError.corrupt(path: path, position: 0, "producer id reservation file is damaged") }
        return next
    }
}
