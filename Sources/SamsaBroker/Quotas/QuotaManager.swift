import NIOConcurrencyHelpers

/// Measures produce and fetch byte rates per quota entity and answers how long a client over
/// its quota must wait, as Kafka's `ClientQuotaManager`: the rate is taken over a window of at
/// least 10 seconds, and a client over its quota is throttled for `(rate - quota) / quota ×
/// window`, the time after which its rate would be back at the quota.
///
/// Kafka samples the window in 11 one-second pieces; here they are 101 pieces of 100 ms, so
/// fewer bytes leave the window at once when a piece expires, and a client that waits as told
/// overshoots its quota by about 3 % instead of about 9 %.
package final class QuotaManager: Sendable {
    /// What is measured.
    package enum Kind: Sendable {
        case produce
        case fetch

        var key: String { self == .produce ? ClientQuotaEntity.producerByteRate : ClientQuotaEntity.consumerByteRate }
    }

    private struct Meter {
        /// Bytes per one-second sample, by the sample's start (milliseconds).
        var samples: [(start: Int64, bytes: Int64)] = []
    }

    private struct MeterKey: Hashable {
        var entity: ClientQuotaEntity
        var kind: String
    }

    private let registry: TopicRegistry
    private let sampleMilliseconds: Int64 = 100
    private let sampleCount: Int64 = 101
    private let meters = NIOLockedValueBox([MeterKey: Meter]())

    init(registry: TopicRegistry) {
        self.registry = registry
    }

    /// Records `bytes` produced or fetched at `now` by `user` with `clientId`; returns how
    /// long (milliseconds) the client must wait, 0 when it is within its quota or has none.
    package func record(_ kind: Kind, bytes: Int, user: String, clientId: String, now: Int64) -> Int64 {
        let quotas = registry.image.clientQuotas
        guard !quotas.isEmpty else { return 0 }
        guard
            let (entity, quota) = ClientQuotaEntity.precedence(user: user, clientId: clientId).lazy.compactMap({ entity in
                quotas[entity]?[kind.key].map { (entity, $0) }
            }).first, quota > 0
        else { return 0 }
        let key = MeterKey(entity: entity, kind: kind.key)
        return meters.withLockedValue { meters in
            var meter = meters[key] ?? Meter()
            let start = now - now % sampleMilliseconds
            if meter.samples.last?.start == start {
                meter.samples[meter.samples.count - 1].bytes += Int64(bytes)
            } else {
                meter.samples.append((start, Int64(bytes)))
            }
            meter.samples.removeAll { $0.start <= now - sampleCount * sampleMilliseconds }
            meters[key] = meter
            let windowMilliseconds = max(now - meter.samples[0].start, (sampleCount - 1) * sampleMilliseconds)
            let rate = Double(meter.samples.reduce(0) { $0 + $1.bytes }) * 1000 / Double(windowMilliseconds)
            guard rate > quota else { return 0 }
            return Int64(((rate - quota) / quota * Double(windowMilliseconds)).rounded(.up))
        }
    }
}
