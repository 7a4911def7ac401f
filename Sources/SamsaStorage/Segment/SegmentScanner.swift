import NIOCore
import SamsaBinary
import SamsaRecords

/// Reads the batches of a `.log` file in order, in large chunks, checking framing and offsets
/// (and CRCs when asked). Used by recovery and when a segment is opened.
struct SegmentScanner {
    /// Where a scan stopped early, and why.
    struct Damage: Error {
        var position: Int64
        var message: String
    }

    /// The result of a scan: where the last good batch ends and, if the file holds more, why
    /// the rest is unusable.
    struct Result {
        var validEnd: Int64
        var damage: Damage?
    }

    static let chunkSize = 1 << 20

    let file: any StorageFile
    let baseOffset: Int64
    let maxBatchBytes: Int

    /// Visits each batch from `position` to the end of the file. `visit` gets the batch's file
    /// position, header and bytes (a slice of the chunk, valid during the call).
    func scan(
        from start: Int64,
        previousLastOffset: Int64? = nil,
        verifyChecksums: Bool,
        visit: (Int64, RecordBatchHeader, ByteBuffer) throws(StorageError) -> Void
    ) throws(StorageError) -> Result {
        let fileSize = try file.size()
        var position = start
        var lastOffset = previousLastOffset ?? (baseOffset - 1)
        var chunkSize = Self.chunkSize
        while position < fileSize {
            let chunk = try file.read(at: position, count: Int(min(Int64(chunkSize), fileSize - position)))
            var scanner = RecordBatchScanner(chunk, allowsTrailingPartialBatch: true, verifiesChecksums: verifyChecksums)
            var consumed = 0
            while true {
                let batchPosition = position + Int64(scanner.position - chunk.readerIndex)
                let next: (index: Int, header: RecordBatchHeader)?
                do throws(WireFormatError) {
                    next = try scanner.next()
                } catch {
                    return Result(validEnd: batchPosition, damage: Damage(position: batchPosition, message: "\(error)"))
                }
                guard let (index, header) = next else { break }
                if let problem = Self.offsetProblem(header, after: lastOffset, segmentBase: baseOffset) {
                    return Result(validEnd: batchPosition, damage: Damage(position: batchPosition, message: problem))
                }
                try visit(batchPosition, header, chunk.getSlice(at: index, length: header.totalSize)!)
                lastOffset = header.lastOffset
                consumed = scanner.position - chunk.readerIndex
            }
            if scanner.trailingPartialBytes > 0 {
                // A batch runs past this chunk: read again from it, with room for the whole batch.
                let partialPosition = position + Int64(consumed)
                let chunkEndsFile = position + Int64(chunk.readableBytes) >= fileSize
                if let needed = Self.declaredSize(chunk, at: chunk.readerIndex + consumed) {
                    guard needed <= max(maxBatchBytes, Self.chunkSize) * 2, partialPosition + Int64(needed) <= fileSize else {
                        return Result(
                            validEnd: partialPosition,
                            damage: Damage(position: partialPosition, message: "batch cut off by the end of the file"))
                    }
                    if consumed == 0 { chunkSize = max(chunkSize, needed) }
                } else if chunkEndsFile {
                    return Result(
                        validEnd: partialPosition,
                        damage: Damage(position: partialPosition, message: "batch header cut off by the end of the file"))
                }
                position = partialPosition
            } else {
                position += Int64(consumed)
            }
        }
        return Result(validEnd: position, damage: nil)
    }

    /// Reads the header at `position`; nil at the end of the file. With `cachedOnly`, throws
    /// ``StorageError/notCached(path:)`` rather than wait for the disk.
    func header(at position: Int64, cachedOnly: Bool = false) throws(StorageError) -> RecordBatchHeader? {
        let count = RecordBatchHeader.size
        let read = cachedOnly ? try file.readIfCached(at: position, count: count) : try file.read(at: position, count: count)
        guard let bytes = read else { throw StorageError.notCached(path: file.path) }
        if bytes.readableBytes == 0 { return nil }
        do throws(WireFormatError) {
            return try RecordBatchHeader(decoding: bytes, at: bytes.readerIndex)
        } catch {
            throw StorageError.corrupt(path: file.path, position: position, "\(error)")
        }
    }

    static func declaredSize(_ buffer: ByteBuffer, at index: Int) -> Int? {
        guard let length = buffer.getInteger(at: index + 8, endianness: .big, as: Int32.self),
            length >= RecordBatchHeader.minimumBatchLength
        else { return nil }
        return RecordBatchHeader.lengthFieldEnd + Int(length)
    }

    static func offsetProblem(_ header: RecordBatchHeader, after lastOffset: Int64, segmentBase: Int64) -> String? {
        if header.lastOffsetDelta < 0 { return "negative last offset delta \(header.lastOffsetDelta)" }
        if header.baseOffset <= lastOffset {
            return "batch base offset \(header.baseOffset) does not follow the previous offset \(lastOffset)"
        }
        if header.lastOffset - segmentBase > Int64(UInt32.max) { return "offset \(header.lastOffset) too far from the segment base" }
        return nil
    }
}
