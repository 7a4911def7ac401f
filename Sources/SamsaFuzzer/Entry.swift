#if FUZZING
/// libFuzzer's entry point (built with `-sanitize=fuzzer`, see scripts/fuzz.sh).
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    RequestFuzzing.run(UnsafeRawBufferPointer(start: data, count: size))
    return 0
}

@_silgen_name("LLVMFuzzerRunDriver")
private func runFuzzerDriver(
    _ argc: UnsafeMutablePointer<CInt>, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>,
    _ callback: @convention(c) (UnsafePointer<UInt8>, Int) -> CInt
) -> CInt

/// The executable's entry point, which SwiftPM names after the module: hands over to libFuzzer.
@_cdecl("SamsaFuzzer_main")
public func fuzzerMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    var count = argc
    var arguments = argv
    return runFuzzerDriver(&count, &arguments) { data, size in fuzzOneInput(data, size) }
}
#else
import Foundation

/// Without the fuzzer: runs the inputs named on the command line (files, or directories of
/// them) through the same code, as a regression check of a corpus or of a crash found.
@main
struct FuzzInputReplayer {
    static func main() throws {
        var count = 0
        for path in CommandLine.arguments.dropFirst() {
            for file in try files(at: path) {
                guard let data = FileManager.default.contents(atPath: file) else {
                    throw ReplayError(message: "cannot read \(file)")
                }
                data.withUnsafeBytes { RequestFuzzing.run($0) }
                count += 1
            }
        }
        print("replayed \(count) input(s) without a crash")
    }

    private static func files(at path: String) throws -> [String] {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw ReplayError(message: "no such file or directory: \(path)")
        }
        guard isDirectory.boolValue else { return [path] }
        return try FileManager.default.contentsOfDirectory(atPath: path).sorted().map { "\(path)/\($0)" }
    }

    struct ReplayError: Error, CustomStringConvertible {
        var message: String
        var description: String { message }
    }
}
#endif
