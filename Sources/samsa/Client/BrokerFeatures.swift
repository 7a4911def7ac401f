#if canImport(Glibc)
import Glibc
#endif
import NIOCore
import SamsaClient
import SamsaProtocol

/// A broker's features from its ApiVersions answer (v3 and later, KIP-584): the version range
/// it supports of each, and the finalized level the cluster runs at (e.g. `transaction.version`).
///
/// `KafkaAdmin.apiVersions()` returns the API version ranges only, so `samsa cluster` asks one
/// broker itself: one blocking ApiVersions v3 exchange on its own short-lived connection.
struct BrokerFeatures {
    struct Feature {
        var name: String
        var minVersion: Int16
        var maxVersion: Int16
    }

    var supported: [Feature]
    var finalized: [Feature]
    var finalizedEpoch: Int64

    /// The features `broker` reports; nil when it answers ApiVersions v3 with an error (an
    /// old broker) or cannot be reached within `timeoutSeconds`.
    static func query(_ broker: BrokerAddress, clientId: String, timeoutSeconds: Int = 5) -> BrokerFeatures? {
        guard let socket = connect(broker, timeoutSeconds: timeoutSeconds) else { return nil }
        defer { close(socket) }
        var request = ApiVersionsRequest()
        request.clientSoftwareName = "samsa-cli"
        request.clientSoftwareVersion = SamsaVersion.current
        var body = ByteBuffer()
        KafkaRequest.encode(request, version: 3, correlationId: 1, clientId: clientId, into: &body)
        var frame = ByteBuffer()
        frame.writeInteger(Int32(body.readableBytes))
        frame.writeBuffer(&body)
        guard sendAll(socket, Array(frame.readableBytesView)), let size = receive(socket, count: 4) else { return nil }
        let length = Int(Int32(bigEndian: size.withUnsafeBytes { $0.loadUnaligned(as: Int32.self) }))
        guard length > 0, length < 1 << 20, let bytes = receive(socket, count: length) else { return nil }
        var buffer = ByteBuffer(bytes: bytes)
        guard let (header, response) = try? KafkaResponse.decode(ApiVersionsResponse.self, version: 3, from: &buffer),
            header.correlationId == 1, response.errorCode == 0
        else { return nil }
        return BrokerFeatures(
            supported: response.supportedFeatures.map { Feature(name: $0.name, minVersion: $0.minVersion, maxVersion: $0.maxVersion) }
                .sorted { $0.name < $1.name },
            finalized: response.finalizedFeatures.map {
                Feature(name: $0.name, minVersion: $0.minVersionLevel, maxVersion: $0.maxVersionLevel)
            }.sorted { $0.name < $1.name },
            finalizedEpoch: response.finalizedFeaturesEpoch)
    }

    private static func connect(_ broker: BrokerAddress, timeoutSeconds: Int) -> Int32? {
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var results: UnsafeMutablePointer<addrinfo>?
        guard getaddrinfo(broker.host, String(broker.port), &hints, &results) == 0, let first = results else { return nil }
        defer { freeaddrinfo(first) }
        var candidate: UnsafeMutablePointer<addrinfo>? = first
        while let info = candidate {
            candidate = info.pointee.ai_next
            let socket = Glibc.socket(info.pointee.ai_family, info.pointee.ai_socktype, info.pointee.ai_protocol)
            guard socket >= 0 else { continue }
            var timeout = timeval(tv_sec: timeoutSeconds, tv_usec: 0)
            setsockopt(socket, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
            setsockopt(socket, SOL_SOCKET, SO_SNDTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
            if Glibc.connect(socket, info.pointee.ai_addr, info.pointee.ai_addrlen) == 0 { return socket }
            close(socket)
        }
        return nil
    }

    private static func sendAll(_ socket: Int32, _ bytes: [UInt8]) -> Bool {
        var offset = 0
        while offset < bytes.count {
            let sent = bytes[offset...].withUnsafeBytes { send(socket, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if sent <= 0 { return false }
            offset += sent
        }
        return true
    }

    private static func receive(_ socket: Int32, count: Int) -> [UInt8]? {
        var bytes = [UInt8](repeating: 0, count: count)
        var offset = 0
        while offset < count {
            let read = bytes[offset...].withUnsafeMutableBytes { recv(socket, $0.baseAddress, $0.count, 0) }
            if read <= 0 { return nil }
            offset += read
        }
        return bytes
    }
}
