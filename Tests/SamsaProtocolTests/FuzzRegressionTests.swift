import Foundation
import Testing

@testable import SamsaFuzzer

/// The inputs in FuzzRegressions once broke (or are built to break) a decoder: each must go
/// through frame and request decoding, and record decoding for Produce, without a crash or an
/// allocation out of proportion to its size. scripts/fuzz.sh adds what it finds here.
@Suite("Fuzzing regressions")
struct FuzzRegressionTests {
    static let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("FuzzRegressions")

    static var inputs: [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []).sorted()
    }

    @Test("every regression input is decoded or refused without a crash", arguments: inputs)
    func replay(_ name: String) throws {
        let data = try Data(contentsOf: Self.directory.appendingPathComponent(name))
        data.withUnsafeBytes { RequestFuzzing.run($0) }
    }

    @Test("the regression inputs are there")
    func present() {
        #expect(Self.inputs.count >= 5)
    }
}
