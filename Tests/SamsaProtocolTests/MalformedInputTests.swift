import NIOCore
import SamsaBinary
import SamsaProtocol
import Testing

@Suite struct MalformedInputTests {
    /// Every strict prefix of a valid encoding must throw: decoders read exactly what the
    /// encoder wrote, so a cut anywhere leaves some read short.
    @Test(arguments: allApiKeys)
    func truncatedEncodingsThrowAtEveryCutPoint(apiKey: Int16) throws {
        let descriptor = try #require(ApiMessageTable.descriptor(for: ApiKey(rawValue: apiKey)))
        var random = TestRandom(seed: 0x7C07 + UInt64(apiKey))
        for version in sampleVersions(descriptor) {
            let request = try #require(RandomMessages.request(apiKey: apiKey, version: version, using: &random))
            let response = try #require(RandomMessages.response(apiKey: apiKey, version: version, using: &random))
            expectEveryPrefixThrows(request, version: version)
            expectEveryPrefixThrows(response, version: version)
        }
    }

    func expectEveryPrefixThrows<Message: KafkaMessage>(_ message: Message, version: Int16) {
        let bytes = encoded(message, version: version)
        #expect(decodes(bytes, as: message, version: version))
        for cut in 0..<bytes.readableBytes {
            let prefix = bytes.getSlice(at: bytes.readerIndex, length: cut)!
            #expect(!decodes(prefix, as: message, version: version), "\(Message.self) v\(version) cut at \(cut)")
        }
    }

    /// Overwrites every position of valid encodings with huge or negative lengths. Decoding may
    /// throw or succeed, but must never trap or try to reserve what the input cannot hold.
    @Test(arguments: allApiKeys)
    func plantedHugeAndNegativeLengthsNeverTrap(apiKey: Int16) throws {
        let descriptor = try #require(ApiMessageTable.descriptor(for: ApiKey(rawValue: apiKey)))
        var random = TestRandom(seed: 0xB16 + UInt64(apiKey))
        let patterns: [[UInt8]] = [
            [0x7F, 0xFF, 0xFF, 0xFF], [0xFF, 0xFF, 0xFF, 0xFB], [0xFF, 0xFF, 0xFF, 0xFF, 0x0F],
            [0x80, 0x80, 0x80, 0x80, 0x80, 0x01], [0xFF, 0xFE],
        ]
        for version in sampleVersions(descriptor) {
            let request = try #require(RandomMessages.request(apiKey: apiKey, version: version, using: &random))
            let (rejected, size) = plantLengths(patterns, into: request, version: version)
            #expect(rejected > 0 || size < 4)
        }
    }

    /// Decodes copies of the encoding with each pattern written at each position; returns how
    /// many were rejected and the encoding's size.
    func plantLengths<Message: KafkaMessage>(_ patterns: [[UInt8]], into message: Message, version: Int16) -> (Int, Int) {
        let bytes = encoded(message, version: version)
        var rejected = 0
        for position in 0..<bytes.readableBytes {
            for pattern in patterns where position + pattern.count <= bytes.readableBytes {
                var hostile = bytes
                hostile.setBytes(pattern, at: bytes.readerIndex + position)
                if !decodes(hostile, as: message, version: version) { rejected += 1 }
            }
        }
        return (rejected, bytes.readableBytes)
    }

    @Test func hugeArrayCountsThrowBeforeAllocating() throws {
        // ProduceRequest v3: transactional id (null), acks, timeout, then the topic array count.
        var buffer = ByteBuffer()
        buffer.writeKafkaNullableString(nil)
        buffer.writeKafkaInt16(1)
        buffer.writeKafkaInt32(1000)
        buffer.writeKafkaInt32(Int32.max)
        buffer.writeRepeatingByte(0, count: 1024)
        #expect {
            try ProduceRequest(from: &buffer, version: 3)
        } throws: { error in
            let wire = error as? WireFormatError
            return wire?.context == "ProduceRequest.topicData" && wire?.description.contains("exceeds the limit") == true
        }
    }

    @Test func hugeCompactCountsInNestedArraysNameTheirPath() throws {
        var buffer = ByteBuffer()
        buffer.writeCompactNullableString(nil)
        buffer.writeKafkaInt16(1)
        buffer.writeKafkaInt32(1000)
        buffer.writeCompactArrayCount(1)
        buffer.writeCompactString("topic")
        buffer.writeUnsignedVarint(UInt32.max)
        buffer.writeRepeatingByte(0, count: 100)
        #expect {
            try ProduceRequest(from: &buffer, version: 9)
        } throws: { error in
            (error as? WireFormatError)?.context == "ProduceRequest.topicData.partitionData"
        }
    }

    @Test func negativeLengthsThrow() throws {
        var negativeArray = ByteBuffer()
        negativeArray.writeKafkaNullableString(nil)
        negativeArray.writeKafkaInt16(1)
        negativeArray.writeKafkaInt32(1000)
        negativeArray.writeKafkaInt32(-2)
        #expect(throws: WireFormatError.self) { try ProduceRequest(from: &negativeArray, version: 3) }

        var negativeString = ByteBuffer()
        negativeString.writeKafkaInt16(-5)
        #expect(throws: WireFormatError.self) { try ProduceRequest(from: &negativeString, version: 3) }

        var negativeRecords = ByteBuffer()
        negativeRecords.writeKafkaNullableString(nil)
        negativeRecords.writeKafkaInt16(1)
        negativeRecords.writeKafkaInt32(1000)
        negativeRecords.writeKafkaInt32(1)
        negativeRecords.writeKafkaString("t")
        negativeRecords.writeKafkaInt32(1)
        negativeRecords.writeKafkaInt32(0)
        negativeRecords.writeKafkaInt32(-7)
        #expect(throws: WireFormatError.self) { try ProduceRequest(from: &negativeRecords, version: 3) }
    }

    @Test func nullStructMarkerAndTaggedStructs() throws {
        var response = ConsumerGroupHeartbeatResponse()
        response.assignment = nil
        try expectRoundTrip(response, version: 0)
        var bytes = encoded(response, version: 0)
        // throttle (4) + error (2) + message (1) + member id (1) + epoch (4) + interval (4), then -1.
        #expect(bytes.getInteger(at: bytes.readerIndex + 16, as: Int8.self) == -1)
        response.assignment = ConsumerGroupHeartbeatResponse.Assignment()
        bytes = encoded(response, version: 0)
        #expect(bytes.getInteger(at: bytes.readerIndex + 16, as: Int8.self) == 1)
        try expectRoundTrip(response, version: 0)
    }
}
