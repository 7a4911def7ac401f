import SamsaRecords

/// How many acknowledgements a produce waits for (`acks`).
public enum Acks: Int16, Sendable {
    /// `acks=0`: no answer; the offset is unknown (-1).
    case none = 0
    /// `acks=1`: the leader has the records.
    case leader = 1
    /// `acks=all` (-1): every in-sync replica has them; on Samsa, they are fsynced.
    case all = -1
}

/// A producer's settings, with Kafka's defaults and names.
public struct ProducerConfiguration: Sendable {
    public var client: ClientConfiguration
    /// `acks`; `.all` by default (required for idempotence).
    public var acks: Acks = .all
    /// `enable.idempotence`: exactly one copy of each record per partition, in order, despite
    /// retries. On by default, as in Kafka 3+.
    public var idempotence = true
    /// `linger.ms`: how long a batch waits for more records before it is sent.
    public var lingerMs: Int64 = 5
    /// `batch.size`: a batch is sent once it holds this many bytes.
    public var batchSize = 1_000_000
    /// `compression.type`.
    public var compression: CompressionCodec = .none
    /// `buffer.memory`: records waiting to be sent take at most this many bytes; `send`
    /// suspends while the buffer is full.
    public var bufferMemory = 32 * 1024 * 1024
    /// `delivery.timeout.ms`: a record not acknowledged within this fails.
    public var deliveryTimeoutMs: Int64 = 120_000
    /// `transactional.id`: enables transactions (see ``KafkaProducer/beginTransaction()``).
    public var transactionalId: String?
    /// `transaction.timeout.ms`.
    public var transactionTimeoutMs: Int32 = 60_000
    /// `max.in.flight.requests.per.connection`: batches of one partition sent and not yet
    /// answered. With idempotence, at most 5 (the broker remembers 5 batches per producer for
    /// duplicates), and order is kept; without, a retry may reorder records, as in Kafka.
    public var maxInFlight = 5
    /// Reports every batch's outcome in ``KafkaProducer/deliveryReports`` (one report per batch,
    /// not per record: the cheap way to follow deliveries at high rates). The application must
    /// read them: they are kept until it does.
    public var deliveryReports = false
    /// `partitioner`: where records without an explicit partition go.
    public var partitioner: any Partitioner = DefaultPartitioner()

    public init(client: ClientConfiguration) {
        self.client = client
    }

    /// Builds a configuration from Kafka's property names: `bootstrap.servers` (required),
    /// `client.id`, `acks`, `enable.idempotence`, `linger.ms`, `batch.size`,
    /// `compression.type`, `buffer.memory`, `delivery.timeout.ms`,
    /// `max.in.flight.requests.per.connection`, `transactional.id`,
    /// `transaction.timeout.ms`, `partitioner` (`murmur2_random`, `consistent_random`, `fnv1a`),
    /// `request.timeout.ms`, `retry.backoff.ms`, `retry.backoff.max.ms`, `metadata.max.age.ms`.
    public init(properties: [String: String]) throws {
        var unknown = Set<String>()
        try self.init(properties: properties, unknown: &unknown)
        try KafkaProperties.refuse(unknown: unknown)
    }

    /// Builds a configuration from the properties a producer knows and puts the names of the
    /// others in `unknown`, for a tool that hands one set of properties to several kinds of
    /// clients (each property must then be known to one of them).
    public init(properties: [String: String], unknown: inout Set<String>) throws {
        var reader = KafkaProperties(properties)
        self.init(client: try reader.client())
        if let value = reader.string("acks") {
            switch value.trimmingSpaces.lowercased() {
            case "all", "-1": acks = .all
            case "1": acks = .leader
            case "0": acks = .none
            default: throw SamsaClientError.invalidConfiguration("acks: '\(value)' is not all, -1, 1 or 0")
            }
        }
        if let value = try reader.bool("enable.idempotence") { idempotence = value }
        if let value = try reader.int("linger.ms") { lingerMs = value }
        if let value = try reader.int("batch.size") { batchSize = Int(value) }
        if let value = reader.string("compression.type") {
            switch value.trimmingSpaces.lowercased() {
            case "none": compression = .none
            case "gzip": compression = .gzip
            case "snappy": compression = .snappy
            case "lz4": compression = .lz4
            case "zstd": compression = .zstd
            default: throw SamsaClientError.invalidConfiguration("compression.type: '\(value)' is not none, gzip, snappy, lz4 or zstd")
            }
        }
        if let value = try reader.int("buffer.memory") { bufferMemory = Int(value) }
        if let value = try reader.int("delivery.timeout.ms") { deliveryTimeoutMs = value }
        if let value = try reader.int("max.in.flight.requests.per.connection") { maxInFlight = Int(clamping: value) }
        if let value = reader.string("transactional.id") { transactionalId = value }
        if let value = try reader.int("transaction.timeout.ms") { transactionTimeoutMs = Int32(clamping: value) }
        if let value = reader.string("partitioner") {
            switch value.trimmingSpaces {
            case "murmur2_random", "murmur2", "default": partitioner = DefaultPartitioner(batchBytes: batchSize)
            case "consistent_random", "consistent", "crc32": partitioner = CRC32Partitioner()
            case "fnv1a", "fnv1a_random": partitioner = FNV1aPartitioner()
            default:
                throw SamsaClientError.invalidConfiguration("partitioner: '\(value)' is not murmur2_random, consistent_random or fnv1a")
            }
        }
        unknown = reader.unusedNames
        try validate()
    }

    /// Refuses combinations Kafka refuses.
    func validate() throws {
        if idempotence && acks != .all {
            throw SamsaClientError.invalidConfiguration("enable.idempotence needs acks=all")
        }
        if idempotence && !(1...5).contains(maxInFlight) {
            throw SamsaClientError.invalidConfiguration("enable.idempotence needs max.in.flight.requests.per.connection between 1 and 5")
        }
        if maxInFlight < 1 {
            throw SamsaClientError.invalidConfiguration("max.in.flight.requests.per.connection must be at least 1")
        }
        if transactionalId != nil && !idempotence {
            throw SamsaClientError.invalidConfiguration("transactional.id needs enable.idempotence")
        }
        guard bufferMemory >= batchSize else {
            throw SamsaClientError.invalidConfiguration(
                "buffer.memory (\(bufferMemory)) must be at least batch.size (\(batchSize)): a full batch must fit in the buffer")
        }
        guard batchSize > 0, lingerMs >= 0, deliveryTimeoutMs > 0 else {
            throw SamsaClientError.invalidConfiguration("batch.size, buffer.memory, linger.ms and delivery.timeout.ms must be positive")
        }
    }
}
