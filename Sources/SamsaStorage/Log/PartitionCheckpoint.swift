import NIOCore
import SamsaBinary

/// The per-partition checkpoint file (`partition.checkpoint`): where recovery may start and
/// what the log needs to know at that point.
///
/// Layout (big-endian), replaced atomically (write `.tmp`, fsync, rename, fsync directory):
/// ```
///  0  4  magic "SMPC"
///  4  2  version = 0
///  6  8  log start offset
/// 14  8  recovery point        every offset below it was fsynced when this file was written
/// 22  4  open transaction count n
/// 26  16×n  producer id (8), first offset (8)
///  …  4  CRC-32C of everything before
/// ```
struct PartitionCheckpoint: Hashable, Sendable {
    static let fileName = LogFileNames.partitionCheckpoint
    private static let magic: UInt32 = 0x534D_5043

    var logStartOffset: Int64
    var recoveryPoint: Int64
    var transactions: TransactionTracker

    func encoded() -> ByteBuffer {
        var buffer = ByteBufferAllocator().buffer(capacity: 30 + 16 * transactions.ongoing.count)
        buffer.writeInteger(Self.magic, endianness: .big)
        buffer.writeInteger(Int16(0), endianness: .big)
        buffer.writeInteger(logStartOffset, endianness: .big)
        buffer.writeInteger(recoveryPoint, endianness: .big)
        buffer.writeInteger(Int32(transactions.ongoing.count), endianness: .big)
        for (producerId, firstOffset) in transactions.ongoing.sorted(by: { $0.key < $1.key }) {
            buffer.writeInteger(producerId, endianness: .big)
            buffer.writeInteger(firstOffset, endianness: .big)
        }
        buffer.writeInteger(CRC32C.checksum(buffer), endianness: .big)
        return buffer
    }

    static func decode(_ buffer: ByteBuffer, path: String) throws(StorageError) -> PartitionCheckpoint {
        guard buffer.readableBytes >= 30,
            let stored = buffer.getInteger(at: buffer.writerIndex - 4, endianness: .big, as: UInt32.self),
            CRC32C.checksum(buffer.getSlice(at: buffer.readerIndex, length: buffer.readableBytes - 4)!) == stored
        else { throw StorageError.corrupt(path: path, position: 0, "checkpoint checksum mismatch or short file") }
        var bytes = buffer
        guard bytes.readInteger(endianness: .big, as: UInt32.self) == magic,
            bytes.readInteger(endianness: .big, as: Int16.self) == 0,
            let logStartOffset = bytes.readInteger(endianness: .big, as: Int64.self),
            let recoveryPoint = bytes.readInteger(endianness: .big, as: Int64.self),
            let count = bytes.readInteger(endianness: .big, as: Int32.self),
            count >= 0, Int(count) * 16 + 4 == bytes.readableBytes
        else { throw StorageError.corrupt(path: path, position: 0, "checkpoint header invalid") }
        var ongoing: [Int64: Int64] = [:]
        for _ in 0..<count {
            ongoing[bytes.readInteger(endianness: .big, as: Int64.self)!] = bytes.readInteger(endianness: .big, as: Int64.self)!
        }
        return PartitionCheckpoint(
            logStartOffset: logStartOffset, recoveryPoint: recoveryPoint,
            transactions: TransactionTracker(ongoing: ongoing))
    }

    /// Reads the checkpoint in `directory`; nil when there is none.
    static func read(in directory: String, fileSystem: any FileSystem) throws(StorageError) -> PartitionCheckpoint? {
        let path = StoragePath.join(directory, fileName)
        guard fileSystem.exists(at: path) else { return nil }
        let file = try fileSystem.openFile(at: path, create: false)
        return try decode(try file.read(at: 0, count: Int(try file.size())), path: path)
    }

    /// Writes the checkpoint atomically.
    func write(in directory: String, fileSystem: any FileSystem) throws(StorageError) {
        try AtomicFile.write(encoded(), to: StoragePath.join(directory, Self.fileName), fileSystem: fileSystem)
    }
}

/// Replaces a small file atomically and durably.
enum AtomicFile {
    /// Writes `contents` to `path` through a temporary file: fsynced, renamed over `path`, and
    /// the directory fsynced, since the rename (like the file's name) is durable only then.
    static func write(_ contents: ByteBuffer, to path: String, fileSystem: any FileSystem) throws(StorageError) {
        let temporary = path + LogFileNames.temporarySuffix
        let file = try fileSystem.openFile(at: temporary, create: true)
        try file.truncate(to: 0)
        try file.write(contents, at: 0)
        try file.sync()
        try fileSystem.rename(from: temporary, to: path)
        try fileSystem.syncDirectory(at: StoragePath.parent(path))
    }
}
