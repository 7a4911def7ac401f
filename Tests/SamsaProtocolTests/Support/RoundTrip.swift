import NIOCore
import SamsaBinary
import SamsaProtocol
import Testing

/// Encodes `message` at `version`, decodes it back and checks that nothing was lost: the value
/// is equal, every byte was consumed, and re-encoding gives the same bytes.
func expectRoundTrip<Message: KafkaMessage>(
    _ message: Message, version: Int16, sourceLocation: SourceLocation = #_sourceLocation
) throws {
    var buffer = ByteBuffer()
    message.encode(into: &buffer, version: version)
    let bytes = buffer
    let decoded = try Message(from: &buffer, version: version)
    #expect(buffer.readableBytes == 0, "\(Message.self) v\(version) left \(buffer.readableBytes) bytes", sourceLocation: sourceLocation)
    #expect(decoded == message, "\(Message.self) v\(version) changed in a round trip", sourceLocation: sourceLocation)
    var again = ByteBuffer()
    decoded.encode(into: &again, version: version)
    #expect(again == bytes, "\(Message.self) v\(version) re-encodes differently", sourceLocation: sourceLocation)
}

/// The encoding of `message` at `version`.
func encoded<Message: KafkaMessage>(_ message: Message, version: Int16) -> ByteBuffer {
    var buffer = ByteBuffer()
    message.encode(into: &buffer, version: version)
    return buffer
}

/// Decodes `bytes` as the type of `message`; the result only says whether it threw.
func decodes<Message: KafkaMessage>(_ bytes: ByteBuffer, as _: Message, version: Int16) -> Bool {
    var copy = bytes
    do {
        _ = try Message(from: &copy, version: version)
        return true
    } catch {
        return false
    }
}

/// A few versions of each API worth the slower tests: the lowest, the first flexible, the highest.
func sampleVersions(_ descriptor: ApiMessageDescriptor) -> [Int16] {
    var versions: Set<Int16> = [descriptor.supportedVersions.lowerBound, descriptor.supportedVersions.upperBound]
    if let flexible = descriptor.firstFlexibleVersion, descriptor.supportedVersions.contains(flexible) {
        versions.insert(flexible)
    }
    return versions.sorted()
}

/// Every API key in the spec, as test arguments.
let allApiKeys: [Int16] = ApiMessageTable.all.map(\.apiKey.rawValue)
