import NIOCore
import SamsaBinary

// In-place rewrites of a record batch's header, as the broker does on append.
//
// Base offset and partition leader epoch lie before the CRC-covered range, so they change without
// a new CRC: that is what makes the zero-copy produce path possible. The timestamp type and max
// timestamp lie inside it, so changing them recomputes the CRC.
//
// Callers patch batches they have already validated, so a batch that is not wholly inside the
// buffer is a broken invariant and traps.

extension ByteBuffer {
    /// Overwrites the base offset of the batch at absolute `index`. The CRC stays valid.
    public mutating func setRecordBatchBaseOffset(_ baseOffset: Int64, at index: Int) {
        precondition(index >= readerIndex && index + RecordBatchHeader.size <= writerIndex, "batch header outside the buffer")
        setInteger(baseOffset, at: index, endianness: .big)
    }

    /// Overwrites the partition leader epoch of the batch at absolute `index`. The CRC stays valid.
    public mutating func setRecordBatchPartitionLeaderEpoch(_ epoch: Int32, at index: Int) {
        precondition(index >= readerIndex && index + RecordBatchHeader.size <= writerIndex, "batch header outside the buffer")
        setInteger(epoch, at: index + RecordBatchHeader.partitionLeaderEpochOffset, endianness: .big)
    }

    /// Marks the batch at absolute `index` as LogAppendTime with `timestamp` as its max timestamp,
    /// and recomputes its CRC. Consumers then use `timestamp` for every record of the batch.
    public mutating func setRecordBatchMaxTimestampAndLogAppendTime(_ timestamp: Int64, at index: Int) {
        precondition(index >= readerIndex && index + RecordBatchHeader.size <= writerIndex, "batch header outside the buffer")
        let length = getInteger(at: index + RecordBatchHeader.batchLengthOffset, endianness: .big, as: Int32.self)!
        let total = RecordBatchHeader.lengthFieldEnd + Int(length)
        precondition(length >= RecordBatchHeader.minimumBatchLength && index + total <= writerIndex, "batch outside the buffer")

        let attributesIndex = index + RecordBatchHeader.attributesOffset
        let attributes = getInteger(at: attributesIndex, endianness: .big, as: Int16.self)!
        setInteger(attributes | RecordBatchAttributes.logAppendTime.rawValue, at: attributesIndex, endianness: .big)
        setInteger(timestamp, at: index + RecordBatchHeader.maxTimestampOffset, endianness: .big)
        let crc = CRC32C.checksum(self, at: attributesIndex, length: total - RecordBatchHeader.checksumRangeStart)!
        setInteger(crc, at: index + RecordBatchHeader.crcOffset, endianness: .big)
    }
}
