import NIOConcurrencyHelpers
import NIOCore

/// A file system held in memory, for tests and simulations.
///
/// It models durability as POSIX does. Each file keeps the bytes written and, apart, the bytes
/// as of its last ``StorageFile/sync()``. Each directory keeps its live entries and, apart, the
/// entries as of its last ``syncDirectory(at:)``: a new name, a rename or a removal is durable
/// only once its parent directory is synced. ``crash()`` rebuilds the tree from the root's
/// durable entries (so a file whose name was never synced disappears even if its data was, an
/// unsynced rename reverts to the old name, an unsynced removal comes back with its durable
/// contents), throws away unsynced data and invalidates every open handle, as a power loss would.
///
/// Directories follow the same rule: a created directory survives a crash only once its parent
/// is synced, and then with the entries it had when it was itself last synced. A directory is
/// one object wherever it is renamed, so a directory renamed and crashed before its new parent
/// is synced comes back under its old name. The root `/` always exists.
public final class InMemoryFileSystem: FileSystem, Sendable {
    private struct State {
        /// The live tree: every path (normalised, absolute) to its file or directory.
        var entries: [String: InMemoryEntry] = ["/": .directory(InMemoryDirectoryNode())]
        /// Bumped by every crash; handles of an older generation fail.
        var generation = 0

        var root: InMemoryDirectoryNode {
            guard case .directory(let root)? = entries["/"] else { preconditionFailure("the root directory is missing") }
            return root
        }

        func isDirectory(_ path: String) -> Bool {
            if case .directory? = entries[path] { return true }
            return false
        }

        /// The live entries of the directory at `path`, by name.
        func children(of path: String) -> [String: InMemoryEntry] {
            var children: [String: InMemoryEntry] = [:]
            for (childPath, entry) in entries where childPath != "/" && StoragePath.parent(childPath) == path {
                children[StoragePath.lastComponent(childPath)] = entry
            }
            return children
        }

        /// `path` and everything below it.
        func subtree(_ path: String) -> [String: InMemoryEntry] {
            let prefix = path == "/" ? "/" : path + "/"
            return entries.filter { $0.key == path || $0.key.hasPrefix(prefix) }
        }
    }

    private let state = Locked(State())

    /// Creates an empty file system holding only the root directory `/`.
    public init() {}

    /// Simulates a power loss: unsynced data and unsynced names are lost, and open handles stop
    /// working.
    public func crash() {
        state.withLock { state in
            state.generation += 1
            var entries: [String: InMemoryEntry] = [:]
            func restore(_ directory: InMemoryDirectoryNode, at path: String) {
                entries[path] = .directory(directory)
                for (name, entry) in directory.durableEntries {
                    let childPath = StoragePath.join(path, name)
                    switch entry {
                    case .file(let node):
                        node.revertToDurable()
                        entries[childPath] = entry
                    case .directory(let child):
                        restore(child, at: childPath)
                    }
                }
            }
            restore(state.root, at: "/")
            state.entries = entries
        }
    }

    /// Bytes written to `path` but not yet synced (for tests).
    package func unsyncedByteCount(at path: String) -> Int {
        let path = Self.normalize(path)
        guard case .file(let node)? = state.withLock({ $0.entries[path] }) else { return 0 }
        return node.unsyncedByteCount
    }

    /// The names in the directory at `path` that a crash now would change: created, renamed
    /// or removed since the directory was last synced (for tests).
    package func unsyncedNames(inDirectory path: String) -> [String] {
        let path = Self.normalize(path)
        return state.withLock { state in
            guard case .directory(let directory)? = state.entries[path] else { return [] }
            let live = state.children(of: path)
            let durable = directory.durableEntries
            return Set(live.keys).union(durable.keys).filter { live[$0] != durable[$0] }.sorted()
        }
    }

    var generation: Int { state.withLock { $0.generation } }

    public func openFile(at path: String, create: Bool) throws(StorageError) -> any StorageFile {
        let path = Self.normalize(path)
        return try state.withLock { state throws(StorageError) in
            switch state.entries[path] {
            case .file(let node)?:
                return InMemoryFile(path: path, node: node, fileSystem: self, generation: state.generation)
            case .directory?:
                throw StorageError.alreadyExists(path: path)
            case nil:
                guard create, state.isDirectory(StoragePath.parent(path)) else { throw StorageError.notFound(path: path) }
                let node = InMemoryFileNode()
                state.entries[path] = .file(node)
                return InMemoryFile(path: path, node: node, fileSystem: self, generation: state.generation)
            }
        }
    }

    public func exists(at path: String) -> Bool {
        let path = Self.normalize(path)
        return state.withLock { $0.entries[path] != nil }
    }

    public func isDirectory(at path: String) -> Bool {
        let path = Self.normalize(path)
        return state.withLock { $0.isDirectory(path) }
    }

    public func createDirectory(at path: String) throws(StorageError) {
        var path = Self.normalize(path)
        try state.withLock { state throws(StorageError) in
            var missing: [String] = []
            while !state.isDirectory(path) {
                guard state.entries[path] == nil else { throw StorageError.alreadyExists(path: path) }
                missing.append(path)
                path = StoragePath.parent(path)
            }
            for directory in missing { state.entries[directory] = .directory(InMemoryDirectoryNode()) }
        }
    }

    public func contentsOfDirectory(at path: String) throws(StorageError) -> [String] {
        let path = Self.normalize(path)
        return try state.withLock { state throws(StorageError) in
            guard state.isDirectory(path) else { throw StorageError.notFound(path: path) }
            return state.children(of: path).keys.sorted()
        }
    }

    public func removeFile(at path: String) throws(StorageError) {
        let path = Self.normalize(path)
        try state.withLock { state throws(StorageError) in
            guard case .file? = state.entries[path] else { throw StorageError.notFound(path: path) }
            state.entries.removeValue(forKey: path)
        }
    }

    public func removeDirectory(at path: String) throws(StorageError) {
        let path = Self.normalize(path)
        try state.withLock { state throws(StorageError) in
            guard state.isDirectory(path), path != "/" else { throw StorageError.notFound(path: path) }
            for removed in state.subtree(path).keys { state.entries.removeValue(forKey: removed) }
        }
    }

    public func rename(from source: String, to destination: String) throws(StorageError) {
        let source = Self.normalize(source)
        let destination = Self.normalize(destination)
        try state.withLock { state throws(StorageError) in
            guard state.isDirectory(StoragePath.parent(destination)) else { throw StorageError.notFound(path: destination) }
            switch state.entries[source] {
            case nil:
                throw StorageError.notFound(path: source)
            case .file(let node)?:
                guard !state.isDirectory(destination) else { throw StorageError.alreadyExists(path: destination) }
                state.entries.removeValue(forKey: source)
                state.entries[destination] = .file(node)
            case .directory?:
                guard source != "/", state.entries[destination] == nil, !destination.hasPrefix(source + "/") else {
                    throw StorageError.alreadyExists(path: destination)
                }
                for (path, entry) in state.subtree(source) {
                    state.entries.removeValue(forKey: path)
                    state.entries[destination + path.dropFirst(source.count)] = entry
                }
            }
        }
    }

    /// Makes the directory's current entries the ones a crash keeps.
    public func syncDirectory(at path: String) throws(StorageError) {
        let path = Self.normalize(path)
        try state.withLock { state throws(StorageError) in
            guard case .directory(let directory)? = state.entries[path] else { throw StorageError.notFound(path: path) }
            directory.durableEntries = state.children(of: path)
        }
    }

    /// Makes every file's data and every directory's entries the ones a crash keeps.
    public func syncFileSystem(containing path: String) throws(StorageError) {
        let path = Self.normalize(path)
        try state.withLock { state throws(StorageError) in
            guard state.entries[path] != nil else { throw StorageError.notFound(path: path) }
            var children: [String: [String: InMemoryEntry]] = [:]
            for (path, entry) in state.entries {
                if case .file(let file) = entry { file.sync() }
                guard path != "/" else { continue }
                children[StoragePath.parent(path), default: [:]][StoragePath.lastComponent(path)] = entry
            }
            for (path, entry) in state.entries {
                if case .directory(let directory) = entry { directory.durableEntries = children[path] ?? [:] }
            }
        }
    }

    /// `path` as an absolute path without a trailing `/` (relative paths start at the root).
    static func normalize(_ path: String) -> String {
        var path = path
        while path.count > 1, path.hasSuffix("/") { path.removeLast() }
        if path == "." { return "/" }
        if path.hasPrefix("./") { path.removeFirst(2) }
        return path.hasPrefix("/") ? path : "/" + path
    }
}

/// A file or directory of an ``InMemoryFileSystem``, by identity.
enum InMemoryEntry: Equatable, Sendable {
    case file(InMemoryFileNode)
    case directory(InMemoryDirectoryNode)

    static func == (lhs: Self, rhs: Self) -> Bool {
        switch (lhs, rhs) {
        case (.file(let left), .file(let right)): return left === right
        case (.directory(let left), .directory(let right)): return left === right
        default: return false
        }
    }
}

/// One in-memory directory: its entries as of its last sync (the live entries are the file
/// system's paths below it). Only touched with the file system's lock held, hence unchecked.
final class InMemoryDirectoryNode: @unchecked Sendable {
    var durableEntries: [String: InMemoryEntry] = [:]
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

    private func checkAlive() throws(StorageError) {
        guard fileSystem.generation == generation else { throw StorageError.closed(path: path) }
    }

    func size() throws(StorageError) -> Int64 {
        try checkAlive()
        return Int64(node.size)
    }

    func write(_ buffer: ByteBuffer, at position: Int64) throws(StorageError) {
        try checkAlive()
        buffer.withUnsafeReadableBytes { node.write($0, at: Int(position)) }
    }

    func write(gathering buffers: [ByteBuffer], at position: Int64) throws(StorageError) {
        try checkAlive()
        var position = Int(position)
        for buffer in buffers {
            buffer.withUnsafeReadableBytes { node.write($0, at: position) }
            position += buffer.readableBytes
        }
    }

    func read(at position: Int64, count: Int) throws(StorageError) -> ByteBuffer {
        try checkAlive()
        var buffer = ByteBufferAllocator().buffer(capacity: count)
        node.read(at: Int(position), count: count, into: &buffer)
        return buffer
    }

    func sync() throws(StorageError) {
        try checkAlive()
        node.sync()
    }

    func truncate(to size: Int64) throws(StorageError) {
        try checkAlive()
        node.truncate(to: Int(size))
    }
}
