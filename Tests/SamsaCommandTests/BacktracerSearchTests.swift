import CSamsaBacktracer
import Testing

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Where a statically linked `samsa` looks for the Swift crash backtracer.
@Suite struct BacktracerSearchTests {
    /// A temporary tree: `<root>/app/samsa`, `<root>/toolchain/usr/bin` and
    /// `<root>/toolchain/usr/libexec/swift/linux`.
    private struct Tree {
        let root: String

        init() throws {
            var template = Array("/tmp/samsa-backtracer-XXXXXX".utf8CString)
            let made = template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) }
            try #require(made != nil)
            root = String(cString: made!)
            for directory in [
                "app", "toolchain", "toolchain/usr", "toolchain/usr/bin", "toolchain/usr/libexec",
                "toolchain/usr/libexec/swift", "toolchain/usr/libexec/swift/linux",
            ] {
                try #require(mkdir("\(root)/\(directory)", 0o755) == 0)
            }
        }

        func makeFile(_ path: String, mode: mode_t) throws {
            let descriptor = open("\(root)/\(path)", O_CREAT | O_WRONLY, mode)
            try #require(descriptor >= 0)
            close(descriptor)
        }

        func remove() {
            for path in ["app/swift-backtrace-static", "toolchain/usr/libexec/swift/linux/swift-backtrace-static"] {
                unlink("\(root)/\(path)")
            }
            for directory in [
                "toolchain/usr/libexec/swift/linux", "toolchain/usr/libexec/swift", "toolchain/usr/libexec",
                "toolchain/usr/bin", "toolchain/usr", "toolchain", "app", "",
            ] {
                rmdir("\(root)/\(directory)")
            }
        }
    }

    private func find(executable: String, path: String?) -> String? {
        var result = [CChar](repeating: 0, count: 4096)
        guard csamsa_find_static_backtracer(executable, path, &result, result.count) == 1 else { return nil }
        return String(decoding: result.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    @Test func prefersTheBacktracerBesideTheExecutable() throws {
        let tree = try Tree()
        defer { tree.remove() }
        try tree.makeFile("app/swift-backtrace-static", mode: 0o755)
        try tree.makeFile("toolchain/usr/libexec/swift/linux/swift-backtrace-static", mode: 0o755)
        let found = find(executable: "\(tree.root)/app/samsa", path: "\(tree.root)/toolchain/usr/bin")
        #expect(found == "\(tree.root)/app/swift-backtrace-static")
    }

    @Test func findsTheToolchainsBacktracerThroughPath() throws {
        let tree = try Tree()
        defer { tree.remove() }
        try tree.makeFile("toolchain/usr/libexec/swift/linux/swift-backtrace-static", mode: 0o755)
        let found = find(executable: "\(tree.root)/app/samsa", path: "/nonexistent::\(tree.root)/toolchain/usr/bin:/usr/bin")
        #expect(found == "\(tree.root)/toolchain/usr/bin/../libexec/swift/linux/swift-backtrace-static")
    }

    @Test func ignoresFilesThatCannotRunAndFindsNothingElsewhere() throws {
        let tree = try Tree()
        defer { tree.remove() }
        try tree.makeFile("app/swift-backtrace-static", mode: 0o644)
        #expect(find(executable: "\(tree.root)/app/samsa", path: "\(tree.root)/toolchain/usr/bin") == nil)
        #expect(find(executable: "\(tree.root)/app/samsa", path: nil) == nil)
        #expect(find(executable: "samsa", path: "") == nil)
    }
}
