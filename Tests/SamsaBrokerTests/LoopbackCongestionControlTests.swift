import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import Testing

@testable import SamsaBroker

@Suite("LoopbackCongestionControl")
struct LoopbackCongestionControlTests {
    @Test("loopback addresses are 127.0.0.0/8, ::1 and IPv4-mapped 127.0.0.0/8")
    func loopbackAddresses() throws {
        for address in ["127.0.0.1", "127.1.2.3", "::1", "::ffff:127.0.0.1"] {
            #expect(LoopbackCongestionControl.isLoopback(try SocketAddress(ipAddress: address, port: 9092)), "\(address)")
        }
        for address in ["10.0.0.1", "128.0.0.1", "::2", "::ffff:10.0.0.1", "fe80::1"] {
            #expect(!LoopbackCongestionControl.isLoopback(try SocketAddress(ipAddress: address, port: 9092)), "\(address)")
        }
        #expect(!LoopbackCongestionControl.isLoopback(nil))
    }

    @Test("an algorithm name round-trips through the 16 bytes TCP_CONGESTION takes")
    func algorithmNames() {
        #expect(AlgorithmName("cubic").string == "cubic")
        #expect(AlgorithmName("").string == "")
        // Longer names keep their first 15 bytes, as the kernel reads them.
        #expect(AlgorithmName("a-name-of-twenty-bytes").string == "a-name-of-twent")
    }

    #if os(Linux)
    /// The congestion control of the server side of a loopback connection, after the server's
    /// child channel initializer set `initial` and then applied `control`.
    private func serverSideAlgorithm(initial: String, control: LoopbackCongestionControl) async throws -> (String, (any Error)?) {
        let outcome = NIOLockedValueBox<(String, (any Error)?)?>(nil)
        let (accepted, acceptedContinuation) = AsyncStream.makeStream(of: Void.self)
        let server = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .childChannelInitializer { channel in
                let socket = channel as! any SocketOptionProvider
                return LoopbackCongestionControl.setAlgorithm(initial, of: socket)
                    .flatMap { control.apply(to: channel).map { nil as (any Error)? }.recover { $0 } }
                    .flatMap { error in LoopbackCongestionControl.algorithm(of: socket).map { ($0, error) } }
                    .map { result in
                        outcome.withLockedValue { $0 = result }
                        acceptedContinuation.yield()
                    }
            }
            .bind(host: "127.0.0.1", port: 0).get()
        let client = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .connect(to: server.localAddress!).get()
        for await _ in accepted { break }
        try await client.close()
        try await server.close()
        return try #require(outcome.withLockedValue { $0 })
    }

    @Test("a loopback connection with a pacing algorithm gets the replacement")
    func pacingAlgorithmIsReplaced() async throws {
        // reno stands in for BBR: every Linux kernel offers it, not every one offers bbr.
        let control = LoopbackCongestionControl(replacement: "cubic", pacing: ["reno"])
        let (algorithm, error) = try await serverSideAlgorithm(initial: "reno", control: control)
        #expect(error == nil)
        #expect(algorithm == "cubic")
    }

    @Test("an algorithm that does not pace is kept")
    func otherAlgorithmsAreKept() async throws {
        let control = LoopbackCongestionControl(replacement: "reno")
        let (algorithm, error) = try await serverSideAlgorithm(initial: "cubic", control: control)
        #expect(error == nil)
        #expect(algorithm == "cubic")
    }

    @Test("without a replacement nothing changes")
    func noReplacement() async throws {
        let control = LoopbackCongestionControl(replacement: nil, pacing: ["reno"])
        let (algorithm, error) = try await serverSideAlgorithm(initial: "reno", control: control)
        #expect(error == nil)
        #expect(algorithm == "reno")
    }

    @Test("an algorithm the kernel does not offer fails and leaves the connection as it was")
    func unknownReplacement() async throws {
        let control = LoopbackCongestionControl(replacement: "no-such-cc", pacing: ["reno"])
        let (algorithm, error) = try await serverSideAlgorithm(initial: "reno", control: control)
        #expect(error != nil)
        #expect(algorithm == "reno")
    }
    #endif
}
