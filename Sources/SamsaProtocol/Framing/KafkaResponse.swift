import NIOCore
import SamsaBinary

/// Encoding and decoding of response frames: a response header in the right version, then the
/// body.
public enum KafkaResponse {
    /// Appends a response header and body (without the int32 frame size), as a broker sends
    /// it. ApiVersions responses get header v0 whatever their version (KIP-511). An
    /// `any KafkaResponseMessage` can be passed too; Swift opens it.
    public static func encode<Response: KafkaResponseMessage>(
        _ response: Response, version: Int16, correlationId: Int32, into buffer: inout ByteBuffer
    ) {
        let header = ResponseHeader(correlationId: correlationId)
        header.encode(into: &buffer, headerVersion: headerVersion(of: Response.self, version: version))
        response.encode(into: &buffer, version: version)
    }

    /// Decodes the bytes of one response frame (after its int32 size), as a client reads it.
    public static func decode<Response: KafkaResponseMessage>(
        _: Response.Type, version: Int16, from buffer: inout ByteBuffer
    ) throws(WireFormatError) -> (header: ResponseHeader, body: Response) {
        let header = try ResponseHeader(from: &buffer, headerVersion: headerVersion(of: Response.self, version: version))
        let body = try Response(from: &buffer, version: version)
        return (header, body)
    }

    static func headerVersion<Response: KafkaResponseMessage>(of _: Response.Type, version: Int16) -> Int16 {
        // ApiVersions (key 18) always answers with header v0 (KIP-511).
        if Response.apiKey.rawValue == 18 { return 0 }
        return Response.isFlexible(version: version) ? 1 : 0
    }
}
