import NIOCore
import SamsaBinary
import Testing

@Suite("CRC32C")
struct CRC32CTests {
    @Test("standard check value")
    func checkValue() {
        let input = Array("123456789".utf8)
        #expect(CRC32C.checksum(input) == 0xE306_9283)
        #expect(CRC32C.portableChecksum(input) == 0xE306_9283)
        #expect(CRC32C.checksum([UInt8]()) == 0)
    }

    @Test("RFC 3720 test vectors")
    func iscsiVectors() {
        #expect(CRC32C.checksum([UInt8](repeating: 0, count: 32)) == 0x8A91_36AA)
        #expect(CRC32C.checksum([UInt8](repeating: 0xFF, count: 32)) == 0x62A8_AB43)
        #expect(CRC32C.checksum((0..<32).map { UInt8($0) }) == 0x46DD_794E)
        #expect(CRC32C.checksum((0..<32).map { UInt8(31 - $0) }) == 0x113F_DB5C)
    }

    @Test("hardware and portable paths agree at every length and alignment, incl. the interleaved path")
    func pathsAgree() {
        var generator = SplitMix64(seed: 99)
        let data = (0..<40_000).map { _ in UInt8(truncatingIfNeeded: generator.next()) }
        for length in [0, 1, 7, 8, 9, 63, 64, 100, 4095, 12_287, 12_288, 12_289, 30_000, 39_990] {
            for offset in 0..<3 {
                let slice = Array(data[offset..<(offset + length)])
                #expect(CRC32C.checksum(slice) == CRC32C.portableChecksum(slice), "length \(length) offset \(offset)")
            }
        }
    }

    @Test("continuing a checksum equals checksumming the concatenation")
    func continuing() {
        let first = Array("hello ".utf8)
        let second = Array("world".utf8)
        let whole = CRC32C.checksum(first + second)
        #expect(CRC32C.checksum(second, continuing: CRC32C.checksum(first)) == whole)
        let buffer = ByteBuffer(bytes: first + second)
        #expect(CRC32C.checksum(buffer) == whole)
        #expect(CRC32C.checksum(buffer, at: 6, length: 5) == CRC32C.checksum(second))
        #expect(CRC32C.checksum(buffer, at: 6, length: 50) == nil)
    }
}
