/// A topic name and partition number; its log lives in `<data dir>/<topic>-<partition>`.
public struct TopicPartition: Hashable, Sendable, Comparable, CustomStringConvertible {
    /// The topic name (Kafka's legal characters: ASCII letters, digits, `.`, `_`, `-`).
    public var topic: String
    /// The partition number.
    public var partition: Int32

    /// Creates a topic partition.
    public init(topic: String, partition: Int32) {
        precondition(partition >= 0, "partition numbers are not negative")
        self.topic = topic
        self.partition = partition
    }

    /// Parses a directory name `<topic>-<partition>`; nil for anything else.
    public init?(directoryName: String) {
        guard let dash = directoryName.lastIndex(of: "-") else { return nil }
        let topic = String(directoryName[..<dash])
        guard let partition = Int32(directoryName[directoryName.index(after: dash)...]), partition >= 0,
            Self.isValidTopicName(topic)
        else { return nil }
        self.init(topic: topic, partition: partition)
    }

    /// The partition's directory name.
    public var directoryName: String { "\(topic)-\(partition)" }

    public var description: String { directoryName }

    public static func < (lhs: Self, rhs: Self) -> Bool {
        (lhs.topic, lhs.partition) < (rhs.topic, rhs.partition)
    }

    /// True for 1 to 249 characters from `[A-Za-z0-9._-]`, and not `.` or `..`.
    public static func isValidTopicName(_ name: String) -> Bool {
        guard !name.isEmpty, name.utf8.count <= 249, name != ".", name != ".." else { return false }
        return name.utf8.allSatisfy { byte in
            (byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x61 && byte <= 0x7A)
                || byte == 0x2E || byte == 0x5F || byte == 0x2D
        }
    }
}
