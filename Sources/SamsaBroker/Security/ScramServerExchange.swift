#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import SamsaSCRAM

/// The broker's side of one SCRAM authentication (RFC 5802, RFC 7677): the client's first
/// message, the broker's challenge, the client's proof, the broker's signature.
///
/// Channel binding is not offered (`n,,`); an authorization id, if sent, must be the user
/// itself; delegation tokens (`tokenauth=true`) are refused.
struct ScramServerExchange: Sendable {
    private enum State: Sendable {
        case awaitingClientFirst
        case awaitingClientFinal(Challenge)
        case finished
    }

    /// What the broker sent in answer to the client's first message.
    private struct Challenge: Sendable {
        var user: String
        var credential: ScramCredential
        var gs2Header: String
        var clientFirstBare: String
        var serverFirst: String
        var nonce: String
    }

    let mechanism: SASLMechanism
    private let hash: ScramHash
    private var state = State.awaitingClientFirst

    init(mechanism: SASLMechanism) {
        precondition(mechanism.scram != nil, "\(mechanism) is not a SCRAM mechanism")
        self.mechanism = mechanism
        self.hash = mechanism.scram!
    }

    /// The result of one message from the client.
    enum Step: Sendable, Equatable {
        /// Send these bytes and wait for the client's next message.
        case challenge([UInt8])
        /// `user` is authenticated; send these bytes (the server-final message).
        case authenticated(user: String, finalMessage: [UInt8])
    }

    /// Takes the client's next message.
    ///
    /// - Parameters:
    ///   - credential: the user's credential for this mechanism, nil if it has none.
    ///   - serverNonce: fresh printable random characters, used with the first message.
    mutating func receive(
        _ message: [UInt8], credential: (String) -> ScramCredential?, serverNonce: () -> String
    ) throws(SASLFailure) -> Step {
        guard let text = String(validating: message, as: UTF8.self) else {
            throw failure("the SCRAM message is not UTF-8")
        }
        switch state {
        case .awaitingClientFirst:
            let challenge = try clientFirst(text, credential: credential, serverNonce: serverNonce())
            state = .awaitingClientFinal(challenge)
            return .challenge(Array(challenge.serverFirst.utf8))
        case .awaitingClientFinal(let challenge):
            state = .finished
            return try clientFinal(text, challenge: challenge)
        case .finished:
            throw failure("the SCRAM exchange is already over")
        }
    }

    private func clientFirst(_ text: String, credential: (String) -> ScramCredential?, serverNonce: String) throws(SASLFailure) -> Challenge
    {
        // gs2-header: "n,," or "y,," then optional "a=authzid,"; then the bare message.
        let parts = text.split(separator: ",", maxSplits: 2, omittingEmptySubsequences: false)
        guard parts.count == 3 else { throw failure("malformed SCRAM client-first message") }
        switch parts[0] {
        case "n", "y": break
        case let binding where binding.hasPrefix("p="): throw failure("SCRAM channel binding is not supported")
        default: throw failure("malformed SCRAM client-first message")
        }
        let authorizationID = parts[1].isEmpty ? nil : parts[1].hasPrefix("a=") ? try Self.unescape(parts[1].dropFirst(2)) : nil
        guard parts[1].isEmpty || authorizationID != nil else { throw failure("malformed SCRAM authorization id") }
        let bare = String(parts[2])
        let attributes = try Self.attributes(bare)
        guard attributes.count >= 2, attributes[0].key == "n", attributes[1].key == "r", !attributes[1].value.isEmpty else {
            throw failure("malformed SCRAM client-first message")
        }
        let user = try Self.unescape(attributes[0].value[...])
        if let authorizationID, authorizationID != user {
            throw failure("authorization id \(authorizationID) is not the user \(user)")
        }
        if attributes.dropFirst(2).contains(where: { $0.key == "tokenauth" && $0.value.lowercased() == "true" }) {
            throw failure("delegation tokens are not supported")
        }
        guard let found = credential(user) else {
            throw SASLFailure(
                user: user,
                "Authentication failed during authentication due to invalid credentials with SASL mechanism \(mechanism.rawValue)")
        }
        let nonce = attributes[1].value + serverNonce
        let serverFirst = "r=\(nonce),s=\(Data(found.salt).base64EncodedString()),i=\(found.iterations)"
        return Challenge(
            user: user, credential: found, gs2Header: "\(parts[0]),\(parts[1]),", clientFirstBare: bare, serverFirst: serverFirst,
            nonce: nonce)
    }

    private func clientFinal(_ text: String, challenge: Challenge) throws(SASLFailure) -> Step {
        let attributes = try Self.attributes(text)
        guard attributes.count >= 3, attributes[0].key == "c", attributes[1].key == "r", let proofAttribute = attributes.last,
            proofAttribute.key == "p"
        else {
            throw failure("malformed SCRAM client-final message", user: challenge.user)
        }
        guard Data(base64Encoded: attributes[0].value).map(Array.init) == Array(challenge.gs2Header.utf8) else {
            throw failure("SCRAM channel binding does not match the client's first message", user: challenge.user)
        }
        // Kafka accepts a nonce that ends with the one it sent: librdkafka sends its own nonce
        // again in front of it, and the proof covers what the client sent either way.
        guard attributes[1].value.hasSuffix(challenge.nonce) else {
            throw failure("SCRAM nonce does not match", user: challenge.user)
        }
        guard let proof = Data(base64Encoded: proofAttribute.value).map(Array.init) else {
            throw failure("malformed SCRAM proof", user: challenge.user)
        }
        let withoutProof = String(text[..<text.index(text.endIndex, offsetBy: -(proofAttribute.value.count + 3))])
        let authMessage = Array("\(challenge.clientFirstBare),\(challenge.serverFirst),\(withoutProof)".utf8)
        let clientSignature = hash.hmac(key: challenge.credential.storedKey, authMessage)
        guard proof.count == clientSignature.count else {
            throw invalidCredentials(user: challenge.user)
        }
        let clientKey = zip(proof, clientSignature).map { $0 ^ $1 }
        guard constantTimeEqual(hash.digest(clientKey), challenge.credential.storedKey) else {
            throw invalidCredentials(user: challenge.user)
        }
        let serverSignature = hash.hmac(key: challenge.credential.serverKey, authMessage)
        return .authenticated(user: challenge.user, finalMessage: Array("v=\(Data(serverSignature).base64EncodedString())".utf8))
    }

    private func invalidCredentials(user: String) -> SASLFailure {
        SASLFailure(
            user: user, "Authentication failed during authentication due to invalid credentials with SASL mechanism \(mechanism.rawValue)")
    }

    private func failure(_ reason: String, user: String? = nil) -> SASLFailure {
        SASLFailure(user: user, "Authentication failed: \(reason)")
    }

    /// `k=v` attributes separated by commas, in order.
    private static func attributes(_ text: String) throws(SASLFailure) -> [(key: String, value: String)] {
        var result: [(key: String, value: String)] = []
        for part in text.split(separator: ",", omittingEmptySubsequences: false) {
            guard let equals = part.firstIndex(of: "="), equals != part.startIndex else {
                throw SASLFailure(user: nil, "Authentication failed: malformed SCRAM attribute")
            }
            result.append((String(part[..<equals]), String(part[part.index(after: equals)...])))
        }
        return result
    }

    /// A SCRAM user name: `=2C` is a comma and `=3D` an equals sign; any other `=` is invalid.
    private static func unescape(_ text: Substring) throws(SASLFailure) -> String {
        var result = ""
        var index = text.startIndex
        while index < text.endIndex {
            if text[index] == "=" {
                let code = text[text.index(after: index)...].prefix(2)
                switch code {
                case "2C": result.append(",")
                case "3D": result.append("=")
                default: throw SASLFailure(user: nil, "Authentication failed: invalid escape in SCRAM user name")
                }
                index = text.index(index, offsetBy: 3)
            } else {
                result.append(text[index])
                index = text.index(after: index)
            }
        }
        guard !result.isEmpty else { throw SASLFailure(user: nil, "Authentication failed: empty SCRAM user name") }
        return result
    }
}

/// An authentication that failed: answered with SASL_AUTHENTICATION_FAILED and this message,
/// then the connection closes. `user` is for the log line (never the password).
struct SASLFailure: Error, Sendable, CustomStringConvertible {
    var user: String?
    var message: String

    init(user: String?, _ message: String) {
        self.user = user
        self.message = message
    }

    var description: String { message }
}
