import Logging
import SamsaProtocol

/// InitProducerId (key 22), versions 0-5.
///
/// An idempotent producer (null transactional id) always gets a fresh producer id with epoch
/// 0, as Kafka's coordinator does, even when it sends its current id and epoch (v3+, KIP-360):
/// a new id resets every partition's sequence just as well as a bumped epoch. Ids come from
/// ``ProducerIdManager`` and are never reused across restarts.
///
/// Differs from Kafka: there is no transaction coordinator yet, so a transactional id is
/// checked (empty: INVALID_REQUEST; timeout above `transaction.max.timeout.ms`:
/// INVALID_TRANSACTION_TIMEOUT) and then also answered with a fresh id and epoch 0, without
/// fencing an earlier producer of the same transactional id.
struct InitProducerIdHandler: RequestHandler {
    typealias Request = InitProducerIdRequest

    let core: BrokerCore

    func handle(_ request: InitProducerIdRequest, context: RequestContext) async throws -> InitProducerIdResponse? {
        let noId: Int64 = -1
        let noEpoch: Int16 = -1
        if (request.producerId == noId) != (request.producerEpoch == noEpoch) {
            return Self.failure(.invalidRequest)
        }
        if let transactionalId = request.transactionalId {
            if transactionalId.isEmpty {
                return Self.failure(.invalidRequest)
            }
            let timeout = request.transactionTimeoutMs
            guard timeout > 0, Int64(timeout) <= core.configuration.transactionMaxTimeoutMilliseconds else {
                return Self.failure(.invalidTransactionTimeout)
            }
        }
        let ids = core.producerIds
        let producerId: Int64
        do {
            producerId = try await core.blocking.run { try ids.nextProducerId() }
        } catch {
            // The reservation could not be made durable; the client retries on this error.
            core.logger.error("could not reserve producer ids", metadata: ["error": "\(error)"])
            return Self.failure(.coordinatorNotAvailable)
        }
        var response = InitProducerIdResponse()
        response.errorCode = ErrorCode.noError.rawValue
        response.producerId = producerId
        response.producerEpoch = 0
        return response
    }

    private static func failure(_ code: ErrorCode) -> InitProducerIdResponse {
        var response = InitProducerIdResponse()
        response.errorCode = code.rawValue
        response.producerId = -1
        response.producerEpoch = -1
        return response
    }
}
