import CSamsaCompression

/// A compression library opened at run time with dlopen (see docs/ARCHITECTURE.md, "Record batches and compression").
///
/// Samsa links none of them, so building needs no -dev packages: libz.so.1, libzstd.so.1 and
/// liblz4.so.1 are part of every Debian system, and a machine that lacks one still runs with
/// every other codec; using the missing codec throws ``CompressionError/libraryUnavailable(_:library:reason:)``.
public enum SystemCompressionLibrary: Int32, CaseIterable, Sendable {
    case zlib = 0
    case zstd = 1
    case lz4 = 2

    /// The file name looked up first, such as `libzstd.so.1`.
    public var fileName: String {
        String(cString: samsa_library_name(rawValue))
    }

    /// True when the library and every function Samsa needs from it were found.
    public var isAvailable: Bool {
        samsa_library_load(rawValue) != 0
    }

    /// Loads the library, or throws an error that names it.
    func load(for codec: CompressionCodec) throws(CompressionError) {
        guard samsa_library_load(rawValue) != 0 else {
            throw .libraryUnavailable(codec, library: fileName, reason: String(cString: samsa_library_load_error(rawValue)))
        }
    }
}
