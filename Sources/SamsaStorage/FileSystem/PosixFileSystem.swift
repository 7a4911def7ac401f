#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import CSamsaFileSystem
import NIOCore

/// The real file system, through POSIX calls (`open`, `pwrite`, `pread`, `fdatasync`, `rename`).
public struct PosixFileSystem: FileSystem {
    /// Creates the POSIX file system.
    public init() {}

    public func openFile(at path: String, create: Bool) throws(StorageError) -> any StorageFile {
        var flags = O_RDWR | O_CLOEXEC
        if create { flags |= O_CREAT }
        let descriptor = retryingOnInterrupt { open(path, flags, 0o644) }
        guard descriptor >= 0 else {
            if errno == ENOENT { throw StorageError.notFound(path: path) }
            throw StorageError.io("open", path: path, errno: errno)
        }
        return PosixFile(path: path, descriptor: descriptor)
    }

    public func exists(at path: String) -> Bool {
        var info = stat()
        return stat(path, &info) == 0
    }

    public func isDirectory(at path: String) -> Bool {
        var info = stat()
        return stat(path, &info) == 0 && (info.st_mode & S_IFMT) == S_IFDIR
    }

    public func createDirectory(at path: String) throws(StorageError) {
        if isDirectory(at: path) { return }
        let parent = StoragePath.parent(path)
        if parent != path, parent != ".", parent != "/", !exists(at: parent) {
            try createDirectory(at: parent)
        }
        if mkdir(path, 0o755) != 0 && errno != EEXIST {
            throw StorageError.io("mkdir", path: path, errno: errno)
        }
    }

    public func contentsOfDirectory(at path: String) throws(StorageError) -> [String] {
        guard let directory = opendir(path) else {
            if errno == ENOENT { throw StorageError.notFound(path: path) }
            throw StorageError.io("opendir", path: path, errno: errno)
        }
        defer { closedir(directory) }
        var names: [String] = []
        while let entry = readdir(directory) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix(while: { $0 != 0 }), as: UTF8.self)
            }
            if name != "." && name != ".." { names.append(name) }
        }
        return names.sorted()
    }

    public func removeFile(at path: String) throws(StorageError) {
        if unlink(path) != 0 {
            if errno == ENOENT { throw StorageError.notFound(path: path) }
            throw StorageError.io("unlink", path: path, errno: errno)
        }
    }

    public func removeDirectory(at path: String) throws(StorageError) {
        for name in try contentsOfDirectory(at: path) {
            let child = StoragePath.join(path, name)
            if isDirectory(at: child) {
                try removeDirectory(at: child)
            } else {
                try removeFile(at: child)
            }
        }
        if rmdir(path) != 0 { throw StorageError.io("rmdir", path: path, errno: errno) }
    }

    public func rename(from source: String, to destination: String) throws(StorageError) {
        #if canImport(Glibc)
        let result = Glibc.rename(source, destination)
        #else
        let result = Darwin.rename(source, destination)
        #endif
        if result != 0 {
            if errno == ENOENT { throw StorageError.notFound(path: source) }
            throw StorageError.io("rename to \(destination)", path: source, errno: errno)
        }
    }

    public func syncDirectory(at path: String) throws(StorageError) {
        let descriptor = retryingOnInterrupt { open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC) }
        guard descriptor >= 0 else { throw StorageError.io("open directory", path: path, errno: errno) }
        defer { close(descriptor) }
        if fsync(descriptor) != 0 { throw StorageError.io("fsync directory", path: path, errno: errno) }
    }

    public func syncFileSystem(containing path: String) throws(StorageError) {
        let descriptor = retryingOnInterrupt { open(path, O_RDONLY | O_CLOEXEC) }
        guard descriptor >= 0 else { throw StorageError.io("open", path: path, errno: errno) }
        defer { close(descriptor) }
        if csamsa_syncfs(descriptor) != 0 { throw StorageError.io("syncfs", path: path, errno: errno) }
    }
}

/// A file opened by ``PosixFileSystem``; the descriptor is closed when the last reference goes.
final class PosixFile: StorageFile {
    let path: String
    private let descriptor: Int32

    init(path: String, descriptor: Int32) {
        self.path = path
        self.descriptor = descriptor
    }

    deinit { close(descriptor) }

    var fileDescriptor: Int32? { descriptor }

    func size() throws(StorageError) -> Int64 {
        var info = stat()
        guard fstat(descriptor, &info) == 0 else { throw StorageError.io("fstat", path: path, errno: errno) }
        return Int64(info.st_size)
    }

    func write(_ buffer: ByteBuffer, at position: Int64) throws(StorageError) {
        // The closure reports the errno instead of throwing: `withUnsafeReadableBytes` is
        // `rethrows`, which would widen the error type.
        let failure = buffer.withUnsafeReadableBytes { bytes -> Int32? in
            var done = 0
            while done < bytes.count {
                let written = pwrite(descriptor, bytes.baseAddress! + done, bytes.count - done, off_t(position) + off_t(done))
                if written < 0 {
                    if errno == EINTR { continue }
                    return errno
                }
                done += written
            }
            return nil
        }
        if let failure { throw StorageError.io("pwrite", path: path, errno: failure) }
    }

    func write(gathering buffers: [ByteBuffer], at position: Int64) throws(StorageError) {
        var position = position
        var start = 0
        while start < buffers.count {
            let group = buffers[start..<min(buffers.count, start + 64)]
            let total = group.reduce(0) { $0 + $1.readableBytes }
            let written = withIOVectors(group) { vectors in
                vectors.withUnsafeBufferPointer { pointer in
                    pwritev(descriptor, pointer.baseAddress, Int32(pointer.count), off_t(position))
                }
            }
            if written < 0 {
                if errno == EINTR { continue }
                throw StorageError.io("pwritev", path: path, errno: errno)
            }
            if written < total {
                // A short gathered write: finish the rest buffer by buffer.
                var skip = written
                var at = position + Int64(written)
                for buffer in group {
                    if skip >= buffer.readableBytes {
                        skip -= buffer.readableBytes
                        continue
                    }
                    let rest = buffer.getSlice(at: buffer.readerIndex + skip, length: buffer.readableBytes - skip)!
                    try write(rest, at: at)
                    at += Int64(rest.readableBytes)
                    skip = 0
                }
            }
            position += Int64(total)
            start += group.count
        }
    }

    func read(at position: Int64, count: Int) throws(StorageError) -> ByteBuffer {
        // Only a read that may not wait for the disk gives up.
        try read(at: position, count: count, cachedOnly: false)!
    }

    func readIfCached(at position: Int64, count: Int) throws(StorageError) -> ByteBuffer? {
        try read(at: position, count: count, cachedOnly: true)
    }

    /// Reads until `count` bytes or the end of the file. With `cachedOnly`, reads with
    /// `preadv2(RWF_NOWAIT)`, which answers from the page cache or says EAGAIN, and returns nil
    /// on EAGAIN: a short read is the file's end only when the next read finds nothing.
    private func read(at position: Int64, count: Int, cachedOnly: Bool) throws(StorageError) -> ByteBuffer? {
        precondition(count >= 0, "negative read count")
        var buffer = ByteBufferAllocator().buffer(capacity: count)
        var failure: Int32?
        var missed = false
        let total = buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: count) { bytes in
            var done = 0
            while done < count {
                let target = bytes.baseAddress! + done
                let at = off_t(position) + off_t(done)
                let got =
                    cachedOnly
                    ? csamsa_pread_if_cached(descriptor, target, count - done, at) : pread(descriptor, target, count - done, at)
                if got < 0 {
                    switch errno {
                    case EINTR: continue
                    case EAGAIN where cachedOnly, EOPNOTSUPP where cachedOnly: missed = true
                    default: failure = errno
                    }
                    return 0
                }
                if got == 0 { break }
                done += got
            }
            return done
        }
        if let failure { throw StorageError.io(cachedOnly ? "preadv2" : "pread", path: path, errno: failure) }
        if missed { return nil }
        precondition(total <= count)
        return buffer
    }

    func sync() throws(StorageError) {
        #if canImport(Glibc)
        let result = fdatasync(descriptor)
        #else
        let result = fsync(descriptor)
        #endif
        if result != 0 { throw StorageError.io("fdatasync", path: path, errno: errno) }
    }

    func truncate(to size: Int64) throws(StorageError) {
        if ftruncate(descriptor, off_t(size)) != 0 { throw StorageError.io("ftruncate", path: path, errno: errno) }
    }
}

private func retryingOnInterrupt(_ body: () -> Int32) -> Int32 {
    while true {
        let result = body()
        if result >= 0 || errno != EINTR { return result }
    }
}

/// Calls `body` with an iovec per buffer; the pointers are valid only during the call.
private func withIOVectors<Result>(
    _ buffers: ArraySlice<ByteBuffer>,
    _ body: ([iovec]) -> Result
) -> Result {
    func collect(_ index: Int, _ vectors: inout [iovec]) -> Result {
        guard index < buffers.endIndex else { return body(vectors) }
        return buffers[index].withUnsafeReadableBytes { bytes in
            vectors.append(iovec(iov_base: UnsafeMutableRawPointer(mutating: bytes.baseAddress), iov_len: bytes.count))
            return collect(index + 1, &vectors)
        }
    }
    var vectors: [iovec] = []
    vectors.reserveCapacity(buffers.count)
    return collect(buffers.startIndex, &vectors)
}
