import NIOCore
import SamsaBinary

/// The type in a control record's key. Kafka defines 0 ABORT and 1 COMMIT for transactions;
/// 2-6 are used only inside KRaft's metadata log and are kept as raw values.
public struct ControlRecordType: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public var rawValue: Int16

    public init(rawValue: Int16) {
        self.rawValue = rawValue
    }

    /// The transaction was aborted: its records must not reach read_committed consumers.
    public static let abort = Self(rawValue: 0)
    /// The transaction was committed.
    public static let commit = Self(rawValue: 1)

    public var description: String {
        switch self {
        case .abort: "ABORT"
        case .commit: "COMMIT"
        default: "control type \(rawValue)"
        }
    }
}

/// A transaction marker: the single record of a control batch.
///
/// Key = `int16 version (0), int16 type`; value for ABORT and COMMIT =
/// `int16 version (0), int32 coordinator epoch` (Kafka's `EndTransactionMarker`).
public struct ControlRecord: Hashable, Sendable {
    public var type: ControlRecordType
    /// The epoch of the transaction coordinator that wrote the marker (ABORT and COMMIT only; 0 otherwise).
    public var coordinatorEpoch: Int32

    public init(type: ControlRecordType, coordinatorEpoch: Int32) {
        self.type = type
        self.coordinatorEpoch = coordinatorEpoch
    }

    /// Parses the key and value of a control record. Later key and value versions are read as
    /// version 0 (their first fields are the same), as Kafka does.
    public init(_ record: Record) throws(WireFormatError) {
        guard var key = record.key, key.readableBytes >= 4 else {
            throw WireFormatError.invalidValue("control record key shorter than 4 bytes").adding(context: "ControlRecord")
        }
        let keyVersion = try key.readKafkaInt16()
        guard keyVersion >= 0 else {
            throw WireFormatError.invalidValue("negative control key version \(keyVersion)").adding(context: "ControlRecord")
        }
        type = ControlRecordType(rawValue: try key.readKafkaInt16())
        guard type == .abort || type == .commit else {
            coordinatorEpoch = 0
            return
        }
        guard var value = record.value, value.readableBytes >= 6 else {
            throw WireFormatError.invalidValue("transaction marker value shorter than 6 bytes").adding(context: "ControlRecord")
        }
        let valueVersion = try value.readKafkaInt16()
        guard valueVersion >= 0 else {
            throw WireFormatError.invalidValue("negative marker version \(valueVersion)").adding(context: "ControlRecord")
        }
        coordinatorEpoch = try value.readKafkaInt32()
    }

    /// The record's key bytes.
    public var keyBytes: ByteBuffer {
        var key = ByteBuffer()
        key.writeKafkaInt16(0)
        key.writeKafkaInt16(type.rawValue)
        return key
    }

    /// The record's value bytes (for ABORT and COMMIT).
    public var valueBytes: ByteBuffer {
        var value = ByteBuffer()
        value.writeKafkaInt16(0)
        value.writeKafkaInt32(coordinatorEpoch)
        return value
    }

    /// A complete control batch holding this marker: attributes control and transactional, the
    /// producer's id and epoch, base sequence −1, one record.
    public func buildBatch(
        producerId: Int64,
        producerEpoch: Int16,
        timestamp: Int64,
        baseOffset: Int64 = 0,
        partitionLeaderEpoch: Int32 = -1
    ) -> ByteBuffer {
        var builder = RecordBatchBuilder(compression: .none)
        builder.baseOffset = baseOffset
        builder.partitionLeaderEpoch = partitionLeaderEpoch
        builder.producerId = producerId
        builder.producerEpoch = producerEpoch
        builder.baseSequence = -1
        builder.isTransactional = true
        builder.isControl = true
        builder.append(key: keyBytes, value: valueBytes, timestamp: timestamp)
        // An uncompressed batch needs no library, so building cannot fail.
        return try! builder.build()
    }
}

extension RecordBatch {
    /// The transaction marker of a control batch, or nil if this is not a control batch.
    public func controlRecord() throws(RecordBatchError) -> ControlRecord? {
        guard header.isControl else { return nil }
        var records = try records(maxDecompressedBytes: 1 << 20)
        do throws(WireFormatError) {
            guard let first = try records.next() else {
                throw WireFormatError.invalidValue("control batch without records").adding(context: "ControlRecord")
            }
            return try ControlRecord(first.record)
        } catch {
            throw .wireFormat(error)
        }
    }
}
