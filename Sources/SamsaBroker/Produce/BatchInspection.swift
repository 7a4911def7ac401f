import NIOCore
import SamsaProtocol
import SamsaRecords

/// The request-level check of one partition's records (Kafka's
/// `ProduceRequest.validateRecords`), from the header bytes alone.
enum BatchInspection {
    /// The smallest batch length Kafka's batch reader accepts before looking at the magic byte
    /// (a legacy v0 message's overhead); anything shorter is corrupt.
    static let minimumLength: Int32 = 14

    /// The single batch in `records` and its header, or the error Kafka gives: INVALID_RECORD
    /// for no batch, a magic other than 2 or a second batch; CORRUPT_MESSAGE for a header that
    /// cannot be read; UNSUPPORTED_COMPRESSION_TYPE for zstd before v7. Bytes after the batch
    /// too short to hold another are ignored, as Kafka's batch iterator ignores them.
    static func single(_ records: ByteBuffer?, version: Int16) -> PartitionResult<(batch: ByteBuffer, header: RecordBatchHeader)> {
        let noBatch = PartitionError(
            .invalidRecord, "Produce requests with version \(version) must have at least one record batch per partition")
        guard let records else { return .failure(noBatch) }
        let start = records.readerIndex
        let available = records.readableBytes
        guard available >= RecordBatchHeader.lengthFieldEnd else { return .failure(noBatch) }
        let length = records.getInteger(at: start + 8, endianness: .big, as: Int32.self)!
        guard length >= minimumLength else {
            return .failure(
                PartitionError(.corruptMessage, "Record size \(length) is less than the minimum record overhead (\(minimumLength))"))
        }
        let total = RecordBatchHeader.lengthFieldEnd + Int(length)
        guard total <= available else { return .failure(noBatch) }
        let magic = records.getInteger(at: start + 16, as: Int8.self)!
        guard magic == RecordBatchHeader.currentMagic else {
            return .failure(
                PartitionError(
                    .invalidRecord,
                    "Produce requests with version \(version) are only allowed to contain record batches with magic version 2"))
        }
        let header: RecordBatchHeader
        do {
            header = try RecordBatchHeader(decoding: records, at: start)
        } catch {
            return .failure(PartitionError(.corruptMessage, "Record batch header is corrupt: \(error)"))
        }
        if version < 7 && header.compression == .zstd {
            return .failure(
                PartitionError(
                    .unsupportedCompressionType, "Produce requests with version \(version) are not allowed to use ZStandard compression"))
        }
        let rest = available - total
        if rest >= RecordBatchHeader.lengthFieldEnd {
            let nextLength = records.getInteger(at: start + total + 8, endianness: .big, as: Int32.self)!
            if nextLength < minimumLength {
                return .failure(
                    PartitionError(.corruptMessage, "Record size \(nextLength) is less than the minimum record overhead (\(minimumLength))")
                )
            }
            if RecordBatchHeader.lengthFieldEnd + Int(nextLength) <= rest {
                return .failure(
                    PartitionError(
                        .invalidRecord,
                        "Produce requests with version \(version) are only allowed to contain exactly one record batch per partition"))
            }
        }
        return .success((records.getSlice(at: start, length: total)!, header))
    }
}
