import NIOConcurrencyHelpers
import NIOCore

/// A file system held in memory, for tests and simulations.
///
/// It models durability: each file keeps the bytes written and, apart, the bytes as of its last
/// ``StorageFile/sync()``. ``crash()`` throws away everything not synced and invalidates every
/// open handle, as a power loss would. Names (create, rename, remove) are durable at once.
public final class InMemoryFileSystem: FileSystem, Sendable {
    private struct State {
        var directories: Set<String> = ["/"]
        var files: [String: InMemoryFileNode] = [:]
        var generation = 0
    }

    private let state = NIOLockedValueBox(State())

    /// Creates an empty file system holding only the root directory `/`.
    public init() {}

    /// Simulates a power loss: unsynced data is lost and open handles stop working.
    public func crash() {
        state.withLockedValue { state in
            state.generation += 1
            for node in state.files.values { node.revertToDurable() }
        }
    }

    /// Bytes written to `path` but not yet synced (for tests).
    public func unsyncedByteCount(at path: String) -> Int {
        let node = state.withLockedValue { $0.files[Self.normalize(path)] }
        return node?.unsyncedByteCount ?? 0
    }

    var generation: Int { state.withLockedValue { $0.generation } }

    public func openFile(at path: String, create: Bool) throws -> any StorageFile {
        let path = Self.normalize(path)
        return try state.withLockedValue { state in
            if let node = state.files[path] {
                return InMemoryFile(path: path, node: node, fileSystem: self, generation: state.generation)
            }
            guard create else { throw StorageError.notFound(path: path) }
            guard state.directories.contains(StoragePath.parent(path)) else { throw StorageError.notFound(path: path) }
            guard !state.directories.contains(path) else { throw StorageError.alreadyExists(path: path) }
            let node = InMemoryFileNode()
            state.files[path] = node
            return InMemoryFile(path: path, node: node, fileSystem: self, generation: state.generation)
        }
    }

    public func exists(at path: String) -> Bool {
        let path = Self.normalize(path)
        return state.withLockedValue { $0.files[path] != nil || $0.directories.contains(path) }
    }

    public func isDirectory(at path: String) -> Bool {
        let path = Self.normalize(path)
        return state.withLockedValue { $0.directories.contains(path) }
    }

    public func createDirectory(at path: String) throws {
        var path = Self.normalize(path)
        try state.withLockedValue { state in
            var missing: [String] = []
            while !state.directories.contains(path) {
                guard state.files[path] == nil else { throw StorageError.alreadyExists(path: path) }
                missing.append(path)
                path = StoragePath.parent(path)
            }
            state.directories.formUnion(missing)
        }
    }

    public func contentsOfDirectory(at path: String) throws -> [String] {
        let path = Self.normalize(path)
        return try state.withLockedValue { state in
            guard state.directories.contains(path) else { throw StorageError.notFound(path: path) }
            let children = state.files.keys.filter { StoragePath.parent($0) == path }
                + state.directories.filter { $0 != "/" && StoragePath.parent($0) == path }
            return children.map { StoragePath.lastComponent($0) }.sorted()
        }
    }

    public func removeFile(at path: String) throws {
        let path = Self.normalize(path)
        try state.withLockedValue { state in
            guard state.files.removeValue(forKey: path) != nil else { throw StorageError.notFound(path: path) }
        }
    }

    public func removeDirectory(at path: String) throws {
        let path = Self.normalize(path)
        try state.withLockedValue { state in
            guard state.directories.contains(path), path != "/" else { throw StorageError.notFound(path: path) }
            let prefix = path + "/"
            state.directories = state.directories.filter { $0 != path && !$0.hasPrefix(prefix) }
            state.files = state.files.filter { !$0.key.hasPrefix(prefix) }
        }
    }

    public func rename(from source: String, to destination: String) throws {
        let source = Self.normalize(source)
        let destination = Self.normalize(destination)
        try state.withLockedValue { state in
            guard state.directories.contains(StoragePath.parent(destination)) else {
                throw StorageError.notFound(path: destination)
            }
            if let node = state.files.removeValue(forKey: source) {
                guard !state.directories.contains(destination) else {
                    state.files[source] = node
                    throw StorageError.alreadyExists(path: destination)
                }
                state.files[destination] = node
                return
            }
            guard state.directories.contains(source), source != "/" else { throw StorageError.notFound(path: source) }
            guard !state.directories.contains(destination), state.files[destination] == nil else {
                throw StorageError.alreadyExists(path: destination)
            }
            let prefix = source + "/"
            let moved = state.directories.filter { $0 == source || $0.hasPrefix(prefix) }
            state.directories.subtract(moved)
            for directory in moved { state.directories.insert(destination + directory.dropFirst(source.count)) }
            for (name, node) in state.files where name.hasPrefix(prefix) {
                state.files.removeValue(forKey: name)
                state.files[destination + name.dropFirst(source.count)] = node
            }
        }
    }

    public func syncDirectory(at path: String) throws {
        guard isDirectory(at: path) else { throw StorageError.notFound(path: Self.normalize(path)) }
    }

    static func normalize(_ path: String) -> String {
        var path = path
        while path.count > 1, path.hasSuffix("/") { path.removeLast() }
        return path.hasPrefix("/") ? path : "/" + path
    }
}

/// The contents of one in-memory file: the current bytes and the bytes as of the last sync.
final class InMemoryFileNode: Sendable {
    private struct Content {
        var data: [UInt8] = []
        var durable: [UInt8] = []
    }

    private let content = NIOLockedValueBox(Content())

    func revertToDurable() { content.withLockedValue { $0.data = $0.durable } }

    var unsyncedByteCount: Int {
        content.withLockedValue { content in
            let common = zip(content.data, content.durable).prefix(while: { $0 == $1 }).count
            return max(content.data.count, content.durable.count) - common
        }
    }

    var size: Int { content.withLockedValue { $0.data.count } }

    func write(_ bytes: UnsafeRawBufferPointer, at position: Int) {
        content.withLockedValue { content in
            let end = position + bytes.count
            if content.data.count < end { content.data.append(contentsOf: repeatElement(0, count: end - content.data.count)) }
            content.data.withUnsafeMutableBytes { target in
                UnsafeMutableRawBufferPointer(rebasing: target[position..<end]).copyMemory(from: bytes)
            }
        }
    }

    func read(at position: Int, count: Int, into buffer: inout ByteBuffer) {
        content.withLockedValue { content in
            guard position < content.data.count else { return }
            let end = min(content.data.count, position + count)
            _ = content.data.withUnsafeBytes { buffer.writeBytes(UnsafeRawBufferPointer(rebasing: $0[position..<end])) }
        }
    }

    func sync() { content.withLockedValue { $0.durable = $0.data } }

    func truncate(to size: Int) {
        content.withLockedValue { content in
            if size < content.data.count {
                content.data.removeLast(content.data.count - size)
            } else {
                content.data.append(contentsOf: repeatElement(0, count: size - content.data.count))
            }
        }
    }
}

/// A handle on an ``InMemoryFileNode``; it stops working after the file system crashes.
final class InMemoryFile: StorageFile {
    let path: String
    private let node: InMemoryFileNode
    private let fileSystem: InMemoryFileSystem
    private let generation: Int

    init(path: String, node: InMemoryFileNode, fileSystem: InMemoryFileSystem, generation: Int) {
        self.path = path
        self.node = node
        self.fileSystem = fileSystem
        self.generation = generation
    }

    var fileDescriptor: Int32? { nil }

    private func checkAlive() throws {
        guard fileSystem.generation == generation else { throw StorageError.closed(path: path) }
    }

    func size() throws -> Int64 {
        try checkAlive()
        return Int64(node.size)
    }

    func write(_ buffer: ByteBuffer, at position: Int64) throws {
        try checkAlive()
        buffer.withUnsafeReadableBytes { node.write($0, at: Int(position)) }
    }

    func write(gathering buffers: [ByteBuffer], at position: Int64) throws {
        try checkAlive()
        var position = Int(position)
        for buffer in buffers {
            buffer.withUnsafeReadableBytes { node.write($0, at: position) }
            position += buffer.readableBytes
        }
    }

    func read(at position: Int64, count: Int) throws -> ByteBuffer {
        try checkAlive()
        var buffer = ByteBufferAllocator().buffer(capacity: count)
        node.read(at: Int(position), count: count, into: &buffer)
        return buffer
    }

    func sync() throws {
        try checkAlive()
        node.sync()
    }

    func truncate(to size: Int64) throws {
        try checkAlive()
        node.truncate(to: Int(size))
    }
}
