import NIOCore

/// Legacy message sets (magic 0 and 1, uncompressed) built and parsed by hand from the
/// protocol guide, independently of SamsaRecords, to check the broker's conversions.
enum LegacyTestMessages {
    struct Message: Equatable {
        var offset: Int64 = 0
        var magic: Int8
        var timestamp: Int64 = -1
        var key: String?
        var value: String?
    }

    /// A message set of `messages`, each at its own offset.
    static func build(_ messages: [Message]) -> ByteBuffer {
        var set = ByteBuffer()
        for message in messages {
            var body = ByteBuffer()
            body.writeInteger(message.magic)
            body.writeInteger(Int8(0))  // attributes: no compression, create time
            if message.magic == 1 { body.writeInteger(message.timestamp) }
            writeBytes(message.key, into: &body)
            writeBytes(message.value, into: &body)
            set.writeInteger(message.offset)
            set.writeInteger(Int32(4 + body.readableBytes))
            set.writeInteger(crc32(Array(body.readableBytesView)))
            set.writeBuffer(&body)
        }
        return set
    }

    /// The messages of an uncompressed message set; nil when a CRC or a length is wrong.
    /// A trailing partial message is ignored, as a consumer ignores it.
    static func parse(_ buffer: ByteBuffer) -> [Message]? {
        var buffer = buffer
        var messages: [Message] = []
        while buffer.readableBytes >= 12 {
            let offset: Int64 = buffer.readInteger()!
            let size = Int(buffer.readInteger(as: Int32.self)!)
            guard size >= 14 else { return nil }
            guard var message = buffer.readSlice(length: size) else { break }
            let crc: UInt32 = message.readInteger()!
            guard crc == crc32(Array(message.readableBytesView)) else { return nil }
            let magic: Int8 = message.readInteger()!
            _ = message.readInteger(as: Int8.self)
            let timestamp: Int64 = magic == 1 ? message.readInteger()! : -1
            messages.append(
                Message(offset: offset, magic: magic, timestamp: timestamp, key: readBytes(&message), value: readBytes(&message)))
        }
        return messages
    }

    private static func writeBytes(_ text: String?, into buffer: inout ByteBuffer) {
        guard let text else {
            buffer.writeInteger(Int32(-1))
            return
        }
        buffer.writeInteger(Int32(text.utf8.count))
        buffer.writeString(text)
    }

    private static func readBytes(_ buffer: inout ByteBuffer) -> String? {
        let length = Int(buffer.readInteger(as: Int32.self)!)
        guard length >= 0 else { return nil }
        return buffer.readString(length: length)
    }

    /// CRC-32 (IEEE 802.3, as zlib), bit by bit.
    static func crc32(_ bytes: [UInt8]) -> UInt32 {
        var crc: UInt32 = 0xFFFF_FFFF
        for byte in bytes {
            crc ^= UInt32(byte)
            for _ in 0..<8 { crc = (crc >> 1) ^ (0xEDB8_8320 & (0 &- (crc & 1))) }
        }
        return ~crc
    }
}
