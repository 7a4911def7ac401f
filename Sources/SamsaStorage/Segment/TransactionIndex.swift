import NIOCore

/// One aborted transaction, as `read_committed` fetches need it: the producer, the range of
/// offsets its transaction spanned, and the last stable offset when it was aborted.
public struct AbortedTransaction: Hashable, Sendable {
    /// The producer whose transaction was aborted.
    public var producerId: Int64
    /// The offset of the transaction's first batch.
    public var firstOffset: Int64
    /// The offset of the abort marker.
    public var lastOffset: Int64
    /// The last stable offset right after the abort marker was written.
    public var lastStableOffset: Int64

    /// Creates an entry.
    public init(producerId: Int64, firstOffset: Int64, lastOffset: Int64, lastStableOffset: Int64) {
        self.producerId = producerId
        self.firstOffset = firstOffset
        self.lastOffset = lastOffset
        self.lastStableOffset = lastStableOffset
    }
}

/// The transaction index of one segment (`<base offset>.txnindex`): the aborted transactions
/// whose abort marker lies in the segment.
///
/// Layout: 34-byte entries, big-endian, in marker order:
/// ```
///  0  2  version = 0
///  2  8  producer id
/// 10  8  first offset
/// 18  8  last offset (the abort marker)
/// 26  8  last stable offset
/// ```
struct TransactionIndex {
    static let entrySize = 34

    private var storage: IndexFile
    private(set) var entries: [AbortedTransaction] = []

    init(path: String, fileSystem: any FileSystem) throws(StorageError) {
        var bytes: ByteBuffer
        (storage, bytes) = try IndexFile.open(at: path, fileSystem: fileSystem, entrySize: Self.entrySize)
        var index = 0
        while let version = bytes.readInteger(endianness: .big, as: Int16.self),
            let producerId = bytes.readInteger(endianness: .big, as: Int64.self),
            let firstOffset = bytes.readInteger(endianness: .big, as: Int64.self),
            let lastOffset = bytes.readInteger(endianness: .big, as: Int64.self),
            let lastStableOffset = bytes.readInteger(endianness: .big, as: Int64.self)
        {
            guard version == 0, firstOffset <= lastOffset, (entries.last?.lastOffset ?? Int64.min) < lastOffset else {
                throw StorageError.corrupt(path: path, position: Int64(index * Self.entrySize), "invalid transaction index entry")
            }
            entries.append(
                AbortedTransaction(
                    producerId: producerId, firstOffset: firstOffset,
                    lastOffset: lastOffset, lastStableOffset: lastStableOffset))
            index += 1
        }
    }

    var path: String { storage.path }

    mutating func append(_ entry: AbortedTransaction) {
        precondition((entries.last?.lastOffset ?? Int64.min) < entry.lastOffset, "abort markers must grow")
        entries.append(entry)
        storage.append { buffer in
            buffer.writeInteger(Int16(0), endianness: .big)
            buffer.writeInteger(entry.producerId, endianness: .big)
            buffer.writeInteger(entry.firstOffset, endianness: .big)
            buffer.writeInteger(entry.lastOffset, endianness: .big)
            buffer.writeInteger(entry.lastStableOffset, endianness: .big)
        }
    }

    /// Aborted transactions that overlap `[fetchOffset, upperBoundOffset)`.
    func collect(from fetchOffset: Int64, upTo upperBoundOffset: Int64) -> [AbortedTransaction] {
        entries.filter { $0.lastOffset >= fetchOffset && $0.firstOffset < upperBoundOffset }
    }

    mutating func truncate(from offset: Int64) throws(StorageError) {
        let keep = entries.prefix { $0.lastOffset < offset }.count
        entries.removeLast(entries.count - keep)
        try storage.truncate(toCount: keep)
    }

    mutating func reset() throws(StorageError) { try truncate(from: Int64.min) }
    mutating func writePending() throws(StorageError) { try storage.writePending() }
    mutating func sync() throws(StorageError) { try storage.sync() }
    mutating func takeFileToSync() throws(StorageError) -> (any StorageFile)? { try storage.takeFileToSync() }
}
