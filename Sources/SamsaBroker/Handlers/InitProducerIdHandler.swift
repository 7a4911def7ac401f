import Logging
import SamsaCoordination
import SamsaProtocol

/// InitProducerId (key 22), versions 0-5.
///
/// An idempotent producer (null transactional id) always gets a fresh producer id with epoch
/// 0, as Kafka's coordinator does, even when it sends its current id and epoch (v3+, KIP-360):
/// a new id resets every partition's sequence just as well as a bumped epoch. Ids come from
/// ``ProducerIdManager`` and are never reused across restarts.
///
/// A transactional id (empty: INVALID_REQUEST) goes to the ``TransactionCoordinator``: it maps
/// the id to a producer id, bumps the epoch (fencing older producers, aborting a transaction
/// they left running: CONCURRENT_TRANSACTIONS until that is done), checks KIP-360's current id
/// and epoch, and refuses a timeout above `transaction.max.timeout.ms`
/// (INVALID_TRANSACTION_TIMEOUT). Before v4, PRODUCER_FENCED is answered as
/// INVALID_PRODUCER_EPOCH, as Kafka does.
struct InitProducerIdHandler: RequestHandler {
    typealias Request = InitProducerIdRequest

    let core: BrokerCore
    let transactions: TransactionCoordinator

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
            guard context.allows(.write, .transactionalId, transactionalId) else {
                return Self.failure(.transactionalIdAuthorizationFailed)
            }
            let expected =
                request.producerId == noId
                ? nil : TransactionCoordinatorState.ProducerIdAndEpoch(producerId: request.producerId, producerEpoch: request.producerEpoch)
            let (code, ids) = await transactions.initProducerId(
                transactionalId: transactionalId, transactionTimeoutMs: request.transactionTimeoutMs, expected: expected)
            guard let ids, code == .noError else {
                return Self.failure(code == .producerFenced && context.apiVersion < 4 ? .invalidProducerEpoch : code)
            }
            var response = InitProducerIdResponse()
            response.producerId = ids.producerId
            response.producerEpoch = ids.producerEpoch
            return response
        }
        // An idempotent producer needs IDEMPOTENT_WRITE on the cluster or WRITE on some topic (KIP-679).
        guard context.allows(.idempotentWrite, .cluster) || context.allowsOnSome(.write, .topic) else {
            return Self.failure(.clusterAuthorizationFailed)
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
