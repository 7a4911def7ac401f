/// The names of the files and directories the storage layer writes, in one place.
///
/// A partition directory `<topic>-<partition>` holds, per segment, `<base offset in 20
/// digits>` followed by one of the segment suffixes, plus `partition.checkpoint`. The data
/// directory holds the partition directories, the clean-shutdown marker and topic-deletion
/// markers. Files ending in ``temporarySuffix``, ``cleanedSuffix`` or ``deletedSuffix`` are
/// leftovers of interrupted operations, removed when a log opens.
package enum LogFileNames {
    /// A segment's record batches.
    package static let logSuffix = ".log"
    /// A segment's offset index.
    package static let offsetIndexSuffix = ".index"
    /// A segment's time index.
    package static let timeIndexSuffix = ".timeindex"
    /// A segment's transaction index.
    package static let transactionIndexSuffix = ".txnindex"
    /// Every file of a segment, the log first.
    package static let segmentSuffixes = [logSuffix, offsetIndexSuffix, timeIndexSuffix, transactionIndexSuffix]
    /// The indexes a segment needs to be read without recovery (the transaction index may be
    /// empty, so a missing one is not a sign of an interrupted compaction).
    package static let requiredIndexSuffixes = [offsetIndexSuffix, timeIndexSuffix]
    /// The indexes of a segment.
    package static let indexSuffixes = [offsetIndexSuffix, timeIndexSuffix, transactionIndexSuffix]

    /// Appended to a file being written before it is renamed over the real one.
    package static let temporarySuffix = ".tmp"
    /// Appended to a segment's log rewritten by compaction before it replaces the original.
    package static let cleanedSuffix = ".cleaned"
    /// Appended to a file scheduled for deletion.
    package static let deletedSuffix = ".deleted"
    /// Suffixes of the files a crash may leave behind, removed when a log opens.
    package static let leftoverSuffixes = [temporarySuffix, cleanedSuffix, deletedSuffix]

    /// The per-partition checkpoint (log start offset, recovery point, open transactions).
    package static let partitionCheckpoint = "partition.checkpoint"
    /// The marker in the data directory that a clean shutdown leaves behind.
    package static let cleanShutdownMarker = ".samsa-clean-shutdown"
    /// The prefix of `.delete-<topic>`, the marker of a topic deletion in progress.
    package static let topicDeletionPrefix = ".delete-"

    /// The file name of the segment starting at `baseOffset` with `suffix`
    /// (`00000000000000000042.log`).
    /// Written digit by digit into one allocation: a start with many partitions formats these
    /// names tens of thousands of times.
    public static func segmentFileName(_ baseOffset: Int64, _ suffix: String) -> String {
        guard baseOffset >= 0 else {
            let digits = String(baseOffset)
            return String(repeating: "0", count: max(0, 20 - digits.count)) + digits + suffix
        }
        let suffixBytes = Array(suffix.utf8)
        return String(unsafeUninitializedCapacity: 20 + suffixBytes.count) { buffer in
            var value = UInt64(baseOffset)
            for index in (0..<20).reversed() {
                buffer[index] = UInt8(ascii: "0") + UInt8(value % 10)
                value /= 10
            }
            for (index, byte) in suffixBytes.enumerated() { buffer[20 + index] = byte }
            return 20 + suffixBytes.count
        }
    }

    /// The base offset a file name stands for, if it is `<20 digits><suffix>`.
    public static func baseOffset(fromFileName name: String, suffix: String) -> Int64? {
        let bytes = name.utf8
        let suffixBytes = suffix.utf8
        guard bytes.count == 20 + suffixBytes.count, bytes.dropFirst(20).elementsEqual(suffixBytes) else { return nil }
        var value: Int64 = 0
        for byte in bytes.prefix(20) {
            guard byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") else { return nil }
            let (times10, overflow) = value.multipliedReportingOverflow(by: 10)
            let (sum, overflow2) = times10.addingReportingOverflow(Int64(byte - UInt8(ascii: "0")))
            guard !overflow, !overflow2 else { return nil }
            value = sum
        }
        return value
    }
}
