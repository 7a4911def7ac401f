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
    public static func segmentFileName(_ baseOffset: Int64, _ suffix: String) -> String {
        let digits = String(baseOffset)
        return String(repeating: "0", count: max(0, 20 - digits.count)) + digits + suffix
    }

    /// The base offset a file name stands for, if it is `<20 digits><suffix>`.
    public static func baseOffset(fromFileName name: String, suffix: String) -> Int64? {
        guard name.hasSuffix(suffix) else { return nil }
        let digits = name.dropLast(suffix.count)
        guard digits.count == 20, digits.allSatisfy(\.isASCII), let value = Int64(digits) else { return nil }
        return value
    }
}
