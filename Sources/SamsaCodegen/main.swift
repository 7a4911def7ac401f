import Foundation
import SamsaCodegenCore

// Regenerates Sources/SamsaProtocol/Generated and Tests/SamsaProtocolTests/Generated from Spec/.
//
//   swift run SamsaCodegen [--root PATH] [--check]
//
// With --check nothing is written: the exit status is 1 when the committed files differ from
// what the spec generates (CI runs this).

var root = FileManager.default.currentDirectoryPath
var check = false
var arguments = CommandLine.arguments.dropFirst()
while let argument = arguments.popFirst() {
    switch argument {
    case "--check":
        check = true
    case "--root":
        guard let path = arguments.popFirst() else {
            FileHandle.standardError.write(Data("--root needs a path\n".utf8))
            exit(2)
        }
        root = path
    case "--help", "-h":
        print("usage: SamsaCodegen [--root PATH] [--check]")
        exit(0)
    default:
        FileHandle.standardError.write(Data("unknown argument \(argument)\nusage: SamsaCodegen [--root PATH] [--check]\n".utf8))
        exit(2)
    }
}

do {
    let files = try CodeGenerator.generate(root: root)
    if check {
        let differences = CodeGenerator.differences(files, root: root)
        if differences.isEmpty {
            print("SamsaCodegen: \(files.count) generated files are up to date")
            exit(0)
        }
        FileHandle.standardError.write(Data("SamsaCodegen: generated files are out of date; run `swift run SamsaCodegen`:\n".utf8))
        for line in differences { FileHandle.standardError.write(Data("  \(line)\n".utf8)) }
        exit(1)
    }
    let touched = try CodeGenerator.write(files, root: root)
    for path in touched { print("wrote \(path)") }
    print("SamsaCodegen: \(files.count) files, \(touched.count) changed")
} catch {
    FileHandle.standardError.write(Data("\(error)\n".utf8))
    exit(1)
}
