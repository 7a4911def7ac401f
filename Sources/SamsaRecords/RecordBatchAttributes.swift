/// The compression codec of a record batch: bits 0-2 of its attributes.
public enum CompressionCodec: Int8, Hashable, Sendable, CaseIterable, CustomStringConvertible {
    /// Records are stored as they are.
    case none = 0
    /// A full RFC 1952 gzip stream, as Java's `GZIPOutputStream` writes.
    case gzip = 1
    /// Raw snappy (librdkafka) or xerial-framed snappy (Java); readers accept both.
    case snappy = 2
    /// The LZ4 frame format with independent blocks.
    case lz4 = 3
    /// A standard zstd frame (needs Produce v7+ and Fetch v10+).
    case zstd = 4

    /// The lowercase name Kafka uses in `compression.type`.
    public var description: String {
        switch self {
        case .none: "none"
        case .gzip: "gzip"
        case .snappy: "snappy"
        case .lz4: "lz4"
        case .zstd: "zstd"
        }
    }

    /// Parses a `compression.type` name such as `"lz4"`; nil for an unknown name.
    public init?(name: String) {
        guard let codec = Self.allCases.first(where: { $0.description == name.lowercased() }) else { return nil }
        self = codec
    }
}

/// Whose clock the timestamps of a batch come from: bit 3 of its attributes.
public enum TimestampType: Int8, Hashable, Sendable {
    /// The producer's timestamps, one per record.
    case createTime = 0
    /// The broker's append time, stored once as the batch's max timestamp and used for every record.
    case logAppendTime = 1
}

/// The 16-bit attributes field of a record batch v2.
///
/// Bits 0-2 hold the codec, bit 3 the timestamp type, bit 4 marks a transactional batch, bit 5 a
/// control batch and bit 6 says the batch carries a delete horizon (set by compaction). Bits 7-15
/// are unused and kept as they are, so a batch can be rewritten without losing them.
public struct RecordBatchAttributes: OptionSet, Hashable, Sendable {
    public var rawValue: Int16

    public init(rawValue: Int16) {
        self.rawValue = rawValue
    }

    /// Bit 3: timestamps are the broker's append time.
    public static let logAppendTime = Self(rawValue: 1 << 3)
    /// Bit 4: the batch belongs to a transaction.
    public static let transactional = Self(rawValue: 1 << 4)
    /// Bit 5: the batch holds a control record (a transaction marker), never shown to applications.
    public static let control = Self(rawValue: 1 << 5)
    /// Bit 6: the base timestamp is the delete horizon of a compacted batch.
    public static let deleteHorizon = Self(rawValue: 1 << 6)

    static let compressionMask: Int16 = 0x07

    /// Attributes with the given codec and flags.
    public init(compression: CompressionCodec, flags: Self = []) {
        self.rawValue = (flags.rawValue & ~Self.compressionMask) | Int16(compression.rawValue)
    }

    /// The raw codec id in bits 0-2 (5, 6 and 7 are not valid codecs).
    public var compressionCodecID: Int8 {
        Int8(truncatingIfNeeded: rawValue & Self.compressionMask)
    }

    /// The codec, or nil when bits 0-2 hold an id no codec has.
    public var compression: CompressionCodec? {
        get { CompressionCodec(rawValue: compressionCodecID) }
        set {
            rawValue = (rawValue & ~Self.compressionMask) | Int16(newValue?.rawValue ?? 0)
        }
    }

    /// The timestamp type given by bit 3.
    public var timestampType: TimestampType {
        get { contains(.logAppendTime) ? .logAppendTime : .createTime }
        set {
            if newValue == .logAppendTime { insert(.logAppendTime) } else { remove(.logAppendTime) }
        }
    }
}
