import Logging
import SamsaProtocol

extension ClientConfiguration {
    /// Runs `body` up to `attempts` times: after an error for which `retrying` holds (and a
    /// lost connection or timed-out request, always), it runs `beforeRetry` (forget a cache,
    /// check the client is still open), waits the backoff of `retry.backoff.ms` doubling up to
    /// `retry.backoff.max.ms`, and tries again. The last error is thrown as it is.
    func retrying<Result>(
        attempts: Int, logger: Logger, _ what: @autoclosure () -> String, when retrying: (KafkaError) -> Bool,
        isolation: isolated (any Actor)? = #isolation, beforeRetry: () async throws -> Void = {}, _ body: () async throws -> Result
    ) async throws -> Result {
        var attempt = 0
        while true {
            do {
                return try await body()
            } catch let error as KafkaError where attempt + 1 < attempts && retrying(error) {
                logger.debug("retrying \(what())", metadata: ["error": "\(error)"])
            } catch let error as SamsaClientError where attempt + 1 < attempts && error.isRetriable {
                logger.debug("retrying \(what())", metadata: ["error": "\(error)"])
            }
            try await beforeRetry()
            try await Task.sleep(for: .milliseconds(backoffMs(attempt: attempt, random: Double.random(in: 0...1))))
            attempt += 1
        }
    }
}
