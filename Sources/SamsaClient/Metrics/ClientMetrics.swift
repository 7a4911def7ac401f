import CoreMetrics

/// The producer's metrics, reported through swift-metrics (the factory of
/// ``ClientConfiguration/metricsFactory``, else the one bootstrapped in `MetricsSystem`).
/// Names follow Prometheus' conventions; every metric has the dimension `client_id`.
/// Counters move once per batch or request, never per record, to stay off the hot path.
struct ProducerMetrics: Sendable {
    /// `kafka_producer_records_sent_total`: records the broker acknowledged.
    let records: Counter
    /// `kafka_producer_bytes_sent_total`: bytes of those records, before compression.
    let bytes: Counter
    /// `kafka_producer_requests_total`: Produce requests written.
    let requests: Counter
    /// `kafka_producer_retries_total`: batches sent again after a retriable failure.
    let retries: Counter
    /// `kafka_producer_record_errors_total`: records that failed for good (refused or expired).
    let errors: Counter
    /// `kafka_producer_request_latency`: from writing a Produce request to its answer.
    let requestLatency: Timer
    /// `kafka_producer_batch_size_bytes`: the size of each batch sent.
    let batchBytes: Recorder
    /// `kafka_producer_buffered_bytes`: bytes of records not yet acknowledged.
    let bufferedBytes: Gauge

    init(configuration: ClientConfiguration) {
        let factory = configuration.metricsFactory ?? MetricsSystem.factory
        let dimensions = [("client_id", configuration.clientId)]
        records = Counter(label: "kafka_producer_records_sent_total", dimensions: dimensions, factory: factory)
        bytes = Counter(label: "kafka_producer_bytes_sent_total", dimensions: dimensions, factory: factory)
        requests = Counter(label: "kafka_producer_requests_total", dimensions: dimensions, factory: factory)
        retries = Counter(label: "kafka_producer_retries_total", dimensions: dimensions, factory: factory)
        errors = Counter(label: "kafka_producer_record_errors_total", dimensions: dimensions, factory: factory)
        requestLatency = Timer(label: "kafka_producer_request_latency", dimensions: dimensions, factory: factory)
        batchBytes = Recorder(label: "kafka_producer_batch_size_bytes", dimensions: dimensions, aggregate: true, factory: factory)
        bufferedBytes = Gauge(label: "kafka_producer_buffered_bytes", dimensions: dimensions, factory: factory)
    }
}

/// The consumer's metrics, reported as ``ProducerMetrics`` are.
struct ConsumerMetrics: Sendable {
    /// `kafka_consumer_records_fetched_total`: records fetched (before they are handed out).
    let records: Counter
    /// `kafka_consumer_bytes_fetched_total`: their bytes.
    let bytes: Counter
    /// `kafka_consumer_fetch_requests_total`: Fetch requests answered.
    let fetches: Counter
    /// `kafka_consumer_fetch_latency`: from sending a Fetch request to its answer (long polls
    /// included).
    let fetchLatency: Timer
    /// `kafka_consumer_records_lag_max`: the largest distance, in records, from a fetched
    /// partition's position to its high watermark, in the last answer.
    let lagMax: Gauge
    /// `kafka_consumer_rebalances_total`: assignments received from the group.
    let rebalances: Counter
    /// `kafka_consumer_commits_total`: offset commits the coordinator accepted.
    let commits: Counter

    init(configuration: ClientConfiguration) {
        let factory = configuration.metricsFactory ?? MetricsSystem.factory
        let dimensions = [("client_id", configuration.clientId)]
        records = Counter(label: "kafka_consumer_records_fetched_total", dimensions: dimensions, factory: factory)
        bytes = Counter(label: "kafka_consumer_bytes_fetched_total", dimensions: dimensions, factory: factory)
        fetches = Counter(label: "kafka_consumer_fetch_requests_total", dimensions: dimensions, factory: factory)
        fetchLatency = Timer(label: "kafka_consumer_fetch_latency", dimensions: dimensions, factory: factory)
        lagMax = Gauge(label: "kafka_consumer_records_lag_max", dimensions: dimensions, factory: factory)
        rebalances = Counter(label: "kafka_consumer_rebalances_total", dimensions: dimensions, factory: factory)
        commits = Counter(label: "kafka_consumer_commits_total", dimensions: dimensions, factory: factory)
    }
}

extension Timer {
    /// Records the time from `start` to now.
    func record(since start: ContinuousClock.Instant) {
        let elapsed = ContinuousClock.now - start
        recordNanoseconds(elapsed.components.seconds * 1_000_000_000 + elapsed.components.attoseconds / 1_000_000_000)
    }
}
