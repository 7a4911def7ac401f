import NIOCore
import SamsaBinary

/// A request as it arrives in one frame: its header and its decoded body.
public struct KafkaRequest: Sendable {
    public var header: RequestHeader
    public var body: any KafkaRequestMessage

    public init(header: RequestHeader, body: any KafkaRequestMessage) {
        self.header = header
        self.body = body
    }

    /// Decodes the bytes of one request frame (after its int32 size): the header, in the
    /// version its api key and version call for, then the body.
    ///
    /// Bytes after the body are ignored, as Kafka does.
    public static func decode(from buffer: inout ByteBuffer) throws(RequestFrameError) -> KafkaRequest {
        guard buffer.readableBytes >= 8,
            let rawKey = buffer.getInteger(at: buffer.readerIndex, endianness: .big, as: Int16.self),
            let apiVersion = buffer.getInteger(at: buffer.readerIndex + 2, endianness: .big, as: Int16.self),
            let correlationId = buffer.getInteger(at: buffer.readerIndex + 4, endianness: .big, as: Int32.self)
        else {
            throw .malformedHeader(WireFormatError.truncated(needed: 8, available: buffer.readableBytes).adding(context: "RequestHeader"))
        }
        let apiKey = ApiKey(rawValue: rawKey)
        guard let descriptor = ApiMessageTable.descriptor(for: apiKey) else {
            throw .unknownApiKey(RequestHeader(apiKey: apiKey, apiVersion: apiVersion, correlationId: correlationId))
        }
        let header: RequestHeader
        do throws(WireFormatError) {
            header = try RequestHeader(from: &buffer, headerVersion: descriptor.requestHeaderVersion(for: apiVersion))
        } catch {
            throw .malformedHeader(error)
        }
        guard descriptor.supportedVersions.contains(apiVersion) else {
            throw .unsupportedVersion(header)
        }
        do throws(WireFormatError) {
            let body = try decodeBody(descriptor, version: apiVersion, from: &buffer)
            return KafkaRequest(header: header, body: body)
        } catch {
            throw .malformedBody(header, error)
        }
    }

    /// Decodes a request body of a known API and version.
    public static func decodeBody(
        _ descriptor: ApiMessageDescriptor, version: Int16, from buffer: inout ByteBuffer
    ) throws(WireFormatError) -> any KafkaRequestMessage {
        try descriptor.requestType.init(from: &buffer, version: version)
    }

    /// Appends a request header and body (without the int32 frame size), as a client sends it.
    public static func encode<Request: KafkaRequestMessage>(
        _ request: Request, version: Int16, correlationId: Int32, clientId: String?, into buffer: inout ByteBuffer
    ) {
        precondition(Request.supportedVersions.contains(version), "\(Request.self) does not support version \(version)")
        let descriptor = ApiMessageDescriptor(request: Request.self)
        let header = RequestHeader(apiKey: Request.apiKey, apiVersion: version, correlationId: correlationId, clientId: clientId)
        header.encode(into: &buffer, headerVersion: descriptor.requestHeaderVersion(for: version))
        request.encode(into: &buffer, version: version)
    }
}
