import NIOCore

// Fixed-width big-endian integers, as Kafka's INT8..INT64, UINT16, UINT32, FLOAT64 and BOOLEAN.
// NIO's `readInteger` returns nil when bytes are missing; these throw instead, so decoders can be
// written as straight-line code.

extension ByteBuffer {
    @inlinable
    mutating func readFixedWidth<T: FixedWidthInteger>(_: T.Type) throws(WireFormatError) -> T {
        guard let value = self.readInteger(endianness: .big, as: T.self) else {
            throw .truncated(needed: MemoryLayout<T>.size, available: self.readableBytes)
        }
        return value
    }

    @inlinable
    public mutating func readKafkaInt8() throws(WireFormatError) -> Int8 { try readFixedWidth(Int8.self) }
    @inlinable
    public mutating func readKafkaInt16() throws(WireFormatError) -> Int16 { try readFixedWidth(Int16.self) }
    @inlinable
    public mutating func readKafkaInt32() throws(WireFormatError) -> Int32 { try readFixedWidth(Int32.self) }
    @inlinable
    public mutating func readKafkaInt64() throws(WireFormatError) -> Int64 { try readFixedWidth(Int64.self) }
    @inlinable
    public mutating func readKafkaUInt16() throws(WireFormatError) -> UInt16 { try readFixedWidth(UInt16.self) }
    @inlinable
    public mutating func readKafkaUInt32() throws(WireFormatError) -> UInt32 { try readFixedWidth(UInt32.self) }

    /// Reads an IEEE 754 double stored big-endian (Kafka's FLOAT64).
    @inlinable
    public mutating func readKafkaFloat64() throws(WireFormatError) -> Double {
        Double(bitPattern: try readFixedWidth(UInt64.self))
    }

    /// Reads a BOOLEAN: one byte, where any non-zero value is true (as Kafka's reader does).
    @inlinable
    public mutating func readKafkaBool() throws(WireFormatError) -> Bool {
        try readFixedWidth(UInt8.self) != 0
    }

    @inlinable
    public mutating func writeKafkaInt8(_ value: Int8) { writeInteger(value, endianness: .big) }
    @inlinable
    public mutating func writeKafkaInt16(_ value: Int16) { writeInteger(value, endianness: .big) }
    @inlinable
    public mutating func writeKafkaInt32(_ value: Int32) { writeInteger(value, endianness: .big) }
    @inlinable
    public mutating func writeKafkaInt64(_ value: Int64) { writeInteger(value, endianness: .big) }
    @inlinable
    public mutating func writeKafkaUInt16(_ value: UInt16) { writeInteger(value, endianness: .big) }
    @inlinable
    public mutating func writeKafkaUInt32(_ value: UInt32) { writeInteger(value, endianness: .big) }
    @inlinable
    public mutating func writeKafkaFloat64(_ value: Double) { writeInteger(value.bitPattern, endianness: .big) }
    @inlinable
    public mutating func writeKafkaBool(_ value: Bool) { writeInteger(UInt8(value ? 1 : 0)) }
}
