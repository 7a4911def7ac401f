import Logging
import NIOCore
import SamsaProtocol

/// DescribeUserScramCredentials (v0): each user's SCRAM mechanisms and iterations, never the
/// keys. No users named lists every user that has a credential.
struct DescribeUserScramCredentialsHandler: RequestHandler {
    let core: BrokerCore

    func handle(
        _ request: DescribeUserScramCredentialsRequest, context: RequestContext
    ) async throws
        -> DescribeUserScramCredentialsResponse?
    {
        let credentials = core.topics.image.scramCredentials
        var response = DescribeUserScramCredentialsResponse()
        response.errorMessage = nil
        guard context.allows(.describe, .cluster) else {
            response.errorCode = ErrorCode.clusterAuthorizationFailed.rawValue
            return response
        }
        let named = request.users?.map(\.name) ?? []
        let users = named.isEmpty ? credentials.keys.sorted() : named
        var counts: [String: Int] = [:]
        for user in named { counts[user, default: 0] += 1 }
        response.results = users.map { user in
            var result = DescribeUserScramCredentialsResponse.DescribeUserScramCredentialsResult()
            result.user = user
            result.errorMessage = nil
            if counts[user, default: 0] > 1 {
                result.errorCode = ErrorCode.duplicateResource.rawValue
                result.errorMessage = "Cannot describe SCRAM credentials for the same user twice in a single request: \(user)"
            } else if let mechanisms = credentials[user] {
                result.credentialInfos = mechanisms.sorted { $0.key.scramType < $1.key.scramType }.map { mechanism, credential in
                    var info = DescribeUserScramCredentialsResponse.CredentialInfo()
                    info.mechanism = mechanism.scramType
                    info.iterations = Int32(credential.iterations)
                    return info
                }
            } else {
                result.errorCode = ErrorCode.resourceNotFound.rawValue
                result.errorMessage = "Attempt to describe a user credential that does not exist: \(user)"
            }
            return result
        }
        return response
    }
}

/// AlterUserScramCredentials (v0): adds, replaces and deletes SCRAM credentials, durably. The
/// client sends the salted password, never the password; the broker keeps only the keys
/// derived from it. A user's changes are all made or, with the first error, none.
struct AlterUserScramCredentialsHandler: RequestHandler {
    let core: BrokerCore

    private typealias Change = (user: String, mechanism: SASLMechanism, credential: ScramCredential?)

    func handle(_ request: AlterUserScramCredentialsRequest, context: RequestContext) async throws -> AlterUserScramCredentialsResponse? {
        let existing = core.topics.image.scramCredentials
        var order: [String] = []
        var errors: [String: (ErrorCode, String)] = [:]
        var changes: [String: [Change]] = [:]
        var seen: Set<String> = []

        func refuse(_ user: String, _ code: ErrorCode, _ message: String) {
            if errors[user] == nil { errors[user] = (code, message) }
        }
        func note(_ user: String, _ mechanismType: Int8) -> SASLMechanism? {
            if !order.contains(user) { order.append(user) }
            guard !user.isEmpty else {
                refuse(user, .unacceptableCredential, "Username must not be empty")
                return nil
            }
            guard let mechanism = SASLMechanism(scramType: mechanismType) else {
                refuse(user, .unsupportedSaslMechanism, "Unknown SCRAM mechanism")
                return nil
            }
            guard seen.insert("\(mechanism.rawValue):\(user)").inserted else {
                refuse(user, .duplicateResource, "A user credential cannot be altered twice in the same request")
                return nil
            }
            return mechanism
        }

        if !context.allows(.alter, .cluster) {
            for user in (request.deletions.map(\.name) + request.upsertions.map(\.name)) where !order.contains(user) {
                order.append(user)
                refuse(user, .clusterAuthorizationFailed, "Not authorized to alter SCRAM credentials.")
            }
        }
        for deletion in request.deletions {
            guard let mechanism = note(deletion.name, deletion.mechanism) else { continue }
            guard existing[deletion.name]?[mechanism] != nil else {
                refuse(deletion.name, .resourceNotFound, "Attempt to delete a user credential that does not exist")
                continue
            }
            changes[deletion.name, default: []].append((deletion.name, mechanism, nil))
        }
        for upsertion in request.upsertions {
            guard let mechanism = note(upsertion.name, upsertion.mechanism) else { continue }
            let iterations = Int(upsertion.iterations)
            if iterations < ScramCredential.iterationRange.lowerBound {
                refuse(upsertion.name, .unacceptableCredential, "Too few iterations")
            } else if iterations > ScramCredential.iterationRange.upperBound {
                refuse(upsertion.name, .unacceptableCredential, "Too many iterations")
            } else if upsertion.salt.readableBytes == 0 || upsertion.saltedPassword.readableBytes == 0 {
                refuse(upsertion.name, .unacceptableCredential, "Salt and salted password must not be empty")
            } else {
                let credential = ScramCredential(
                    hash: mechanism.scram!, salt: Array(upsertion.salt.readableBytesView),
                    saltedPassword: Array(upsertion.saltedPassword.readableBytesView), iterations: iterations)
                changes[upsertion.name, default: []].append((upsertion.name, mechanism, credential))
            }
        }

        let accepted = order.filter { errors[$0] == nil }.flatMap { changes[$0] ?? [] }
        let topics = core.topics
        var failure: String?
        do {
            try await core.blocking.run { try topics.changeScramCredentials(accepted) }
        } catch {
            core.logger.error("could not store SCRAM credentials: \(error)")
            failure = "The credentials could not be stored: \(error)"
        }
        var response = AlterUserScramCredentialsResponse()
        response.results = order.map { user in
            var result = AlterUserScramCredentialsResponse.AlterUserScramCredentialsResult()
            result.user = user
            result.errorMessage = nil
            if let (code, message) = errors[user] {
                result.errorCode = code.rawValue
                result.errorMessage = message
            } else if let failure {
                result.errorCode = ErrorCode.kafkaStorageError.rawValue
                result.errorMessage = failure
            }
            return result
        }
        return response
    }
}
