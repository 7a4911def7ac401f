// swift-tools-version:6.1
import PackageDescription

#if canImport(Glibc)
import Glibc

/// glibc 2.36 and later load packed relative relocations (DT_RELR); a binary that has them does
/// not start on an older glibc.
let loaderReadsPackedRelocations: Bool = {
    var text = [CChar](repeating: 0, count: 64)  // "glibc 2.36"
    guard confstr(Int32(_CS_GNU_LIBC_VERSION), &text, text.count) > 0 else { return false }
    let words = String(decoding: text.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self).split(separator: " ")
    let version = words.last.map { $0.split(separator: ".").compactMap { Int($0) } } ?? []
    return words.first == "glibc" && version.count >= 2 && (version[0], version[1]) >= (2, 36)
}()
#else
let loaderReadsPackedRelocations = false
#endif

/// How a release `samsa` is linked on Linux; see docs/ARCHITECTURE.md, "The release binary".
/// - the Swift runtime and FoundationEssentials statically (`-static-stdlib`; the two `-l` are
///   libraries that static FoundationEssentials needs and does not name), so the binary runs
///   without a Swift toolchain and maps only the runtime code it uses;
/// - with lld, in the order of Sources/samsa/Layout/symbol-order.txt (made by
///   scripts/layout/order-symbols.py): the code that starts and idles a broker first, then the
///   code that serves requests, so an idle broker keeps a few MB of code in memory, not 20;
/// - no symbol table for dynamic lookup (the static runtime asks for one by default and nothing
///   uses it), and packed relative relocations where glibc reads them.
/// Sources/CSamsaBacktracer points the static runtime at a crash backtracer. The unsafe flags sit
/// on the executable only: SwiftPM checks the products a depending package uses, and the
/// libraries' closures do not include `samsa`.
let samsaReleaseLinking: [LinkerSetting] = [
    .unsafeFlags(
        [
            "-static-stdlib", "-l_FoundationCollections", "-l_FoundationCShims", "-use-ld=lld",
            "-Xlinker", "--no-export-dynamic",
            "-Xlinker", "--symbol-ordering-file=\(Context.packageDirectory)/Sources/samsa/Layout/symbol-order.txt",
            "-Xlinker", "--no-warn-symbol-ordering",
        ] + (loaderReadsPackedRelocations ? ["-Xlinker", "-z", "-Xlinker", "pack-relative-relocs"] : []),
        .when(platforms: [.linux], configuration: .release)
    )
]

let strictSettings: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("MemberImportVisibility"),
]

let package = Package(
    name: "Samsa",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "samsa", targets: ["samsa"]),
        .executable(name: "SamsaCodegen", targets: ["SamsaCodegen"]),
        .executable(name: "SamsaFuzzer", targets: ["SamsaFuzzer"]),
        .library(name: "SamsaBinary", targets: ["SamsaBinary"]),
        .library(name: "SamsaRecords", targets: ["SamsaRecords"]),
        .library(name: "SamsaProtocol", targets: ["SamsaProtocol"]),
        .library(name: "SamsaStorage", targets: ["SamsaStorage"]),
        .library(name: "SamsaCoordination", targets: ["SamsaCoordination"]),
        .library(name: "SamsaBroker", targets: ["SamsaBroker"]),
        .library(name: "SamsaClient", targets: ["SamsaClient"]),
        .library(name: "SamsaSCRAM", targets: ["SamsaSCRAM"]),
        .library(name: "SamsaTesting", targets: ["SamsaTesting"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.80.0"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.6.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.6.0"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.5.0"),
        .package(url: "https://github.com/HdrHistogram/hdrhistogram-swift.git", from: "0.2.0"),
        .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.30.0"),
        .package(url: "https://github.com/apple/swift-crypto.git", "3.12.3"..<"5.0.0"),
        .package(url: "https://github.com/apple/swift-certificates.git", from: "1.10.0"),
        .package(url: "https://github.com/apple/swift-asn1.git", from: "1.0.0"),
    ],
    targets: [
        // C helpers: hardware CRC32C, and run-time loading of the system compression libraries.
        .target(name: "CSamsaCRC32C"),
        .target(name: "CSamsaFileSystem"),
        .target(name: "CSamsaBacktracer"),
        .target(name: "CSamsaCompression", linkerSettings: [.linkedLibrary("dl", .when(platforms: [.linux]))]),

        .target(
            name: "SamsaBinary",
            dependencies: ["CSamsaCRC32C", .product(name: "NIOCore", package: "swift-nio")],
            swiftSettings: strictSettings
        ),
        .target(
            name: "SamsaRecords",
            dependencies: ["SamsaBinary", "CSamsaCompression", .product(name: "NIOCore", package: "swift-nio")],
            swiftSettings: strictSettings
        ),
        .target(
            name: "SamsaProtocol",
            dependencies: [
                "SamsaBinary", .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
            ],
            swiftSettings: strictSettings
        ),
        .target(
            name: "SamsaStorage",
            dependencies: [
                "SamsaRecords", "CSamsaFileSystem",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strictSettings
        ),
        .target(
            name: "SamsaCoordination",
            dependencies: ["SamsaProtocol", "SamsaBinary", .product(name: "NIOCore", package: "swift-nio")],
            swiftSettings: strictSettings
        ),
        .target(
            name: "SamsaBroker",
            dependencies: [
                "SamsaBinary", "SamsaRecords", "SamsaProtocol", "SamsaStorage", "SamsaCoordination", "SamsaSCRAM",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "X509", package: "swift-certificates"),
                .product(name: "SwiftASN1", package: "swift-asn1"),
                .product(name: "NIOTLS", package: "swift-nio"),
            ],
            swiftSettings: strictSettings
        ),
        // SCRAM's hashes, HMACs and salted passwords (RFC 5802), for the broker and the client.
        .target(name: "SamsaSCRAM", dependencies: [.product(name: "Crypto", package: "swift-crypto")], swiftSettings: strictSettings),
        // The pure-Swift Kafka client: connections, producer, consumer, admin. Never the broker.
        .target(
            name: "SamsaClient",
            dependencies: [
                "SamsaBinary", "SamsaRecords", "SamsaProtocol", "SamsaCoordination", "SamsaSCRAM",
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "CoreMetrics", package: "swift-metrics"),
            ],
            swiftSettings: strictSettings
        ),
        // For tests of applications and of Samsa itself: an in-process broker with request
        // interception, a manual clock, seeded randomness and a fault-injecting file system.
        .target(
            name: "SamsaTesting",
            dependencies: [
                "SamsaBroker", "SamsaStorage", "SamsaProtocol", "SamsaCoordination",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: strictSettings
        ),
        // libFuzzer's target for frame and request decoding (scripts/fuzz.sh), and, built
        // normally, a replayer of its inputs.
        .executableTarget(
            name: "SamsaFuzzer",
            dependencies: [
                "SamsaProtocol", "SamsaRecords", .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
            ],
            swiftSettings: strictSettings
        ),
        .target(name: "SamsaCodegenCore", swiftSettings: strictSettings),
        .executableTarget(
            name: "SamsaCodegen",
            dependencies: ["SamsaCodegenCore"],
            swiftSettings: strictSettings
        ),
        .executableTarget(
            name: "samsa",
            dependencies: [
                "SamsaBinary", "SamsaRecords", "SamsaProtocol", "SamsaStorage", "SamsaBroker", "SamsaClient",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
                .product(name: "Histogram", package: "hdrhistogram-swift"),
                "CSamsaBacktracer",
            ],
            exclude: ["Layout"],
            swiftSettings: strictSettings,
            linkerSettings: samsaReleaseLinking
        ),

        .testTarget(name: "SamsaBinaryTests", dependencies: ["SamsaBinary"], swiftSettings: strictSettings),
        .testTarget(name: "SamsaCoordinationTests", dependencies: ["SamsaCoordination"], swiftSettings: strictSettings),
        .testTarget(
            name: "SamsaRecordsTests",
            dependencies: ["SamsaRecords"],
            resources: [.copy("Vectors")],
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "SamsaBrokerTests",
            dependencies: [
                "SamsaBroker", "SamsaTesting", "SamsaSCRAM",
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: strictSettings
        ),
        // The child process of SamsaStorage's kill -9 test; the test runs it from the build directory.
        .executableTarget(
            name: "SamsaStorageCrashHelper",
            dependencies: ["SamsaStorage", "SamsaRecords", .product(name: "NIOCore", package: "swift-nio"), .product(name: "Logging", package: "swift-log")],
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "SamsaStorageTests",
            dependencies: [
                "SamsaStorage", "SamsaTesting", "SamsaStorageCrashHelper",
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
            ],
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "SamsaClientTests",
            dependencies: ["SamsaClient", "SamsaTesting", "SamsaRecords", "SamsaProtocol", "SamsaCoordination", "SamsaStorage",
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"), .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "MetricsTestKit", package: "swift-metrics")],
            swiftSettings: strictSettings
        ),
        .testTarget(name: "SamsaCodegenTests", dependencies: ["SamsaCodegenCore"], swiftSettings: strictSettings),
        .testTarget(
            name: "SamsaCommandTests", dependencies: ["samsa", "SamsaClient", "CSamsaBacktracer"], swiftSettings: strictSettings
        ),
        .testTarget(
            name: "SamsaProtocolTests",
            dependencies: ["SamsaProtocol", "SamsaRecords", "SamsaFuzzer"],
            exclude: ["FuzzRegressions"],
            resources: [.copy("Fixtures")],
            swiftSettings: strictSettings
        ),
    ]
)
