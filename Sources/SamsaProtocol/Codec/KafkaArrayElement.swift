import NIOCore
import SamsaBinary

/// A primitive that can be an array element: it knows its own encoding and its smallest size on
/// the wire, which bounds the element count an array header may claim.
protocol KafkaArrayElement: Hashable, Sendable {
    static func minimumWireSize(compact: Bool) -> Int
    static func read(from buffer: inout ByteBuffer, compact: Bool) throws(WireFormatError) -> Self
    func write(to buffer: inout ByteBuffer, compact: Bool)
}

extension Bool: KafkaArrayElement {
    static func minimumWireSize(compact: Bool) -> Int { 1 }
    static func read(from buffer: inout ByteBuffer, compact: Bool) throws(WireFormatError) -> Bool {
        try buffer.readKafkaBool()
    }
    func write(to buffer: inout ByteBuffer, compact: Bool) { buffer.writeKafkaBool(self) }
}

extension Int8: KafkaArrayElement {
    static func minimumWireSize(compact: Bool) -> Int { 1 }
    static func read(from buffer: inout ByteBuffer, compact: Bool) throws(WireFormatError) -> Int8 {
        try buffer.readKafkaInt8()
    }
    func write(to buffer: inout ByteBuffer, compact: Bool) { buffer.writeKafkaInt8(self) }
}

extension Int16: KafkaArrayElement {
    static func minimumWireSize(compact: Bool) -> Int { 2 }
    static func read(from buffer: inout ByteBuffer, compact: Bool) throws(WireFormatError) -> Int16 {
        try buffer.readKafkaInt16()
    }
    func write(to buffer: inout ByteBuffer, compact: Bool) { buffer.writeKafkaInt16(self) }
}

extension UInt16: KafkaArrayElement {
    static func minimumWireSize(compact: Bool) -> Int { 2 }
    static func read(from buffer: inout ByteBuffer, compact: Bool) throws(WireFormatError) -> UInt16 {
        try buffer.readKafkaUInt16()
    }
    func write(to buffer: inout ByteBuffer, compact: Bool) { buffer.writeKafkaUInt16(self) }
}

extension Int32: KafkaArrayElement {
    static func minimumWireSize(compact: Bool) -> Int { 4 }
    static func read(from buffer: inout ByteBuffer, compact: Bool) throws(WireFormatError) -> Int32 {
        try buffer.readKafkaInt32()
    }
    func write(to buffer: inout ByteBuffer, compact: Bool) { buffer.writeKafkaInt32(self) }
}

extension UInt32: KafkaArrayElement {
    static func minimumWireSize(compact: Bool) -> Int { 4 }
    static func read(from buffer: inout ByteBuffer, compact: Bool) throws(WireFormatError) -> UInt32 {
        try buffer.readKafkaUInt32()
    }
    func write(to buffer: inout ByteBuffer, compact: Bool) { buffer.writeKafkaUInt32(self) }
}

extension Int64: KafkaArrayElement {
    static func minimumWireSize(compact: Bool) -> Int { 8 }
    static func read(from buffer: inout ByteBuffer, compact: Bool) throws(WireFormatError) -> Int64 {
        try buffer.readKafkaInt64()
    }
    func write(to buffer: inout ByteBuffer, compact: Bool) { buffer.writeKafkaInt64(self) }
}

extension Double: KafkaArrayElement {
    static func minimumWireSize(compact: Bool) -> Int { 8 }
    static func read(from buffer: inout ByteBuffer, compact: Bool) throws(WireFormatError) -> Double {
        try buffer.readKafkaFloat64()
    }
    func write(to buffer: inout ByteBuffer, compact: Bool) { buffer.writeKafkaFloat64(self) }
}

extension KafkaUUID: KafkaArrayElement {
    static func minimumWireSize(compact: Bool) -> Int { 16 }
    static func read(from buffer: inout ByteBuffer, compact: Bool) throws(WireFormatError) -> KafkaUUID {
        try buffer.readKafkaUUID()
    }
    func write(to buffer: inout ByteBuffer, compact: Bool) { buffer.writeKafkaUUID(self) }
}

extension String: KafkaArrayElement {
    static func minimumWireSize(compact: Bool) -> Int { compact ? 1 : 2 }
    static func read(from buffer: inout ByteBuffer, compact: Bool) throws(WireFormatError) -> String {
        try buffer.readKafkaString(compact: compact)
    }
    func write(to buffer: inout ByteBuffer, compact: Bool) { buffer.writeKafkaString(self, compact: compact) }
}

extension ByteBuffer: KafkaArrayElement {
    static func minimumWireSize(compact: Bool) -> Int { compact ? 1 : 4 }
    static func read(from buffer: inout ByteBuffer, compact: Bool) throws(WireFormatError) -> ByteBuffer {
        try buffer.readKafkaBytes(compact: compact)
    }
    func write(to buffer: inout ByteBuffer, compact: Bool) { buffer.writeKafkaBytes(self, compact: compact) }
}
