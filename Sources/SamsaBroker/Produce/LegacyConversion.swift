import NIOCore
import SamsaProtocol
import SamsaRecords

/// The legacy message formats (magic 0 and 1) of Produce v0-2 and Fetch v0-3, which Kafka 4
/// dropped and Kafka 3.x still served: produced message sets are converted to one record
/// batch v2 before the usual checks and append, and fetched batches are down-converted for
/// clients that cannot read v2. Everyone else keeps the zero-copy paths.
enum LegacyConversion {
    /// The most bytes a conversion may decompress for one partition, like every other decode.
    static let maxDecompressedBytes = 64 * 1024 * 1024

    /// A Produce v0-2 partition's data as one v2 batch: a legacy message set converted, or a
    /// v2 batch checked as at v3+ (Kafka 3.x accepted either below v3).
    static func producedBatch(_ records: ByteBuffer?, version: Int16) -> PartitionResult<(batch: ByteBuffer, header: RecordBatchHeader)> {
        guard let records, records.readableBytes > 16,
            let magic = records.getInteger(at: records.readerIndex + 16, as: Int8.self), magic < RecordBatchHeader.currentMagic
        else {
            return BatchInspection.single(records, version: version)
        }
        let converted: ByteBuffer
        do {
            converted = try LegacyMessageSet.convertToRecordBatch(records, maxDecompressedBytes: maxDecompressedBytes).batch
        } catch {
            return .failure(PartitionError(.corruptMessage, "Legacy message set is invalid: \(error)"))
        }
        return BatchInspection.single(converted, version: 3)
    }

    /// The message-set magic a Fetch version reads: 0 for v0-1, 1 for v2-3.
    static func fetchMagic(version: Int16) -> Int8 {
        version <= 1 ? 0 : 1
    }

    /// The record batches of one fetched partition as a message set a Fetch v0-3 client reads.
    static func downConverted(_ batches: ByteBuffer, version: Int16, maxBytes: Int) throws -> ByteBuffer {
        try LegacyMessageSet.downConvert(
            batches, toMagic: fetchMagic(version: version), maxBytes: maxBytes, maxDecompressedBytes: maxDecompressedBytes)
    }
}
