#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
import NIOCore

/// Chooses the TCP congestion control of loopback connections where the system's default
/// paces its sends.
///
/// BBR, a common default, paces every send to the bandwidth it has estimated, with timers.
/// Over loopback there is no link to estimate and no queue to keep short, so pacing only
/// costs: on a 2-core VM, loopback TCP moves 3.9 GB/s with BBR against 11-12 GB/s with CUBIC,
/// and a fetch of a backlog by one client runs at 1.3-1.7 GB/s in most runs and 3.8 GB/s in
/// others. A loopback connection that the kernel gave a pacing algorithm gets
/// ``replacement`` instead; remote connections keep the system's choice, and so does any
/// connection whose algorithm does not pace.
///
/// Linux only (`TCP_CONGESTION`); elsewhere ``apply(to:)`` does nothing.
struct LoopbackCongestionControl: Sendable {
    /// The algorithm a loopback connection gets in place of a pacing one; nil leaves every
    /// connection as the system set it up.
    var replacement: String?
    /// Algorithms that pace their sends: replaced on loopback connections.
    var pacing: Set<String> = ["bbr", "bbr2", "bbr3"]

    /// True for 127.0.0.0/8, ::1 and IPv4-mapped 127.0.0.0/8.
    static func isLoopback(_ address: SocketAddress?) -> Bool {
        // inet_ntop's text: IPv6 loopback is "::1", IPv4-mapped addresses "::ffff:a.b.c.d".
        switch (address, address?.ipAddress) {
        case (.v4?, let text?): return text.hasPrefix("127.")
        case (.v6?, let text?): return text == "::1" || text.hasPrefix("::ffff:127.")
        default: return false
        }
    }

    /// Replaces a pacing algorithm on `channel` when it is connected over loopback. Done at
    /// once when called on the channel's event loop (the child channel initializer). The
    /// future fails when the kernel refuses (an algorithm it does not offer); the connection
    /// then keeps the algorithm it had.
    func apply(to channel: any Channel) -> EventLoopFuture<Void> {
        guard let replacement, Self.isLoopback(channel.remoteAddress), let socket = channel as? any SocketOptionProvider else {
            return channel.eventLoop.makeSucceededVoidFuture()
        }
        let pacing = self.pacing
        return Self.algorithm(of: socket).flatMap { current in
            guard pacing.contains(current) else { return channel.eventLoop.makeSucceededVoidFuture() }
            return Self.setAlgorithm(replacement, of: socket)
        }
    }

    /// The congestion control of a connected TCP socket ("" where the system has no such
    /// option).
    static func algorithm(of socket: any SocketOptionProvider) -> EventLoopFuture<String> {
        #if os(Linux)
        let name: EventLoopFuture<AlgorithmName> = socket.unsafeGetSocketOption(
            level: .init(rawValue: CInt(IPPROTO_TCP)), name: .init(rawValue: TCP_CONGESTION))
        return name.map(\.string)
        #else
        return socket.eventLoop.makeSucceededFuture("")
        #endif
    }

    /// Sets the congestion control of a TCP socket (nothing where the system has no such option).
    static func setAlgorithm(_ algorithm: String, of socket: any SocketOptionProvider) -> EventLoopFuture<Void> {
        #if os(Linux)
        socket.unsafeSetSocketOption(
            level: .init(rawValue: CInt(IPPROTO_TCP)), name: .init(rawValue: TCP_CONGESTION), value: AlgorithmName(algorithm))
        #else
        socket.eventLoop.makeSucceededVoidFuture()
        #endif
    }
}

/// A congestion control's name as `TCP_CONGESTION` takes and gives it: up to 15 bytes and a
/// NUL in 16 (`TCP_CA_NAME_MAX`).
struct AlgorithmName: Sendable {
    private var bytes: (UInt64, UInt64) = (0, 0)

    init(_ name: String) {
        withUnsafeMutableBytes(of: &bytes) { raw in
            for (index, byte) in name.utf8.prefix(raw.count - 1).enumerated() { raw[index] = byte }
        }
    }

    var string: String {
        withUnsafeBytes(of: bytes) { raw in
            String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
        }
    }
}
