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
        let made = MetricMaker(configuration)
        records = made.counter("kafka_producer_records_sent_total")
        bytes = made.counter("kafka_producer_bytes_sent_total")
        requests = made.counter("kafka_producer_requests_total")
        retries = made.counter("kafka_producer_retries_total")
        errors = made.counter("kafka_producer_record_errors_total")
        requestLatency = made.timer("kafka_producer_request_latency")
        batchBytes = Recorder(label: "kafka_producer_batch_size_bytes", dimensions: made.dimensions, aggregate: true, factory: made.factory)
        bufferedBytes = made.gauge("kafka_producer_buffered_bytes")
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
        let made = MetricMaker(configuration)
        records = made.counter("kafka_consumer_records_fetched_total")
        bytes = made.counter("kafka_consumer_bytes_fetched_total")
        fetches = made.counter("kafka_consumer_fetch_requests_total")
        fetchLatency = made.timer("kafka_consumer_fetch_latency")
        lagMax = made.gauge("kafka_consumer_records_lag_max")
        rebalances = made.counter("kafka_consumer_rebalances_total")
        commits = made.counter("kafka_consumer_commits_total")
    }
}

/// Makes a client's metrics with its factory and the dimension `client_id`.
private struct MetricMaker {
    let factory: any MetricsFactory
    let dimensions: [(String, String)]

    init(_ configuration: ClientConfiguration) {
        factory = configuration.metricsFactory ?? MetricsSystem.factory
        dimensions = [("client_id", configuration.clientId)]
    }

    func counter(_ label: String) -> Counter { Counter(label: label, dimensions: dimensions, factory: factory) }
    func timer(_ label: String) -> Timer { Timer(label: label, dimensions: dimensions, factory: factory) }
    func gauge(_ label: String) -> Gauge { Gauge(label: label, dimensions: dimensions, factory: factory) }
}

extension Timer {
    /// Records the time from `start` to now.
    func record(since start: ContinuousClock.Instant) {
        let elapsed = ContinuousClock.now - start
        recordNanoseconds(elapsed.components.seconds * 1_000_000_000 + elapsed.components.attoseconds / 1_000_000_000)
    }
}
