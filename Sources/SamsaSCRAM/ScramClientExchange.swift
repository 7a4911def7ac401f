#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// The client's side of one SCRAM authentication (RFC 5802): its first message, its proof
/// for the server's challenge, and the check of the server's signature, which proves the
/// server knew the password too.
public struct ScramClientExchange: Sendable {
    private let hash: ScramHash
    private let password: String
    private let nonce: String
    private let clientFirstBare: String
    /// The server's signature expected in its final message, once the proof was sent.
    private var expectedSignature: [UInt8]?

    /// - Parameter nonce: fresh printable characters, without commas.
    public init(hash: ScramHash, user: String, password: String, nonce: String) {
        self.hash = hash
        self.password = password
        self.nonce = nonce
        let escaped = user.map { $0 == "=" ? "=3D" : $0 == "," ? "=2C" : String($0) }.joined()
        self.clientFirstBare = "n=\(escaped),r=\(nonce)"
    }

    /// The first message: no channel binding, no authorization id.
    public var clientFirst: [UInt8] { Array("n,,\(clientFirstBare)".utf8) }

    /// The final message, with the proof, for the server's first message.
    public mutating func clientFinal(serverFirst message: [UInt8]) throws(ScramClientError) -> [UInt8] {
        let serverFirst = String(decoding: message, as: UTF8.self)
        var attributes: [String: String] = [:]
        for part in serverFirst.split(separator: ",") {
            guard let equals = part.firstIndex(of: "=") else { throw .malformed("server-first-message") }
            attributes[String(part[..<equals])] = String(part[part.index(after: equals)...])
        }
        guard let combinedNonce = attributes["r"], combinedNonce.hasPrefix(nonce), combinedNonce.count > nonce.count,
            let saltText = attributes["s"], let salt = Data(base64Encoded: saltText), let iterationsText = attributes["i"],
            let iterations = Int(iterationsText), iterations > 0
        else {
            throw .malformed("server-first-message")
        }
        guard iterations <= 1_000_000 else { throw .malformed("server-first-message asks for \(iterations) iterations") }
        let salted = hash.saltedPassword(Array(password.utf8), salt: Array(salt), iterations: iterations)
        let clientKey = hash.hmac(key: salted, Array("Client Key".utf8))
        let storedKey = hash.digest(clientKey)
        let withoutProof = "c=biws,r=\(combinedNonce)"
        let authMessage = Array("\(clientFirstBare),\(serverFirst),\(withoutProof)".utf8)
        let signature = hash.hmac(key: storedKey, authMessage)
        let proof = zip(clientKey, signature).map { $0 ^ $1 }
        let serverKey = hash.hmac(key: salted, Array("Server Key".utf8))
        expectedSignature = hash.hmac(key: serverKey, authMessage)
        return Array("\(withoutProof),p=\(Data(proof).base64EncodedString())".utf8)
    }

    /// Checks the server's final message: its signature, or the error it reports.
    public func verify(serverFinal message: [UInt8]) throws(ScramClientError) {
        let text = String(decoding: message, as: UTF8.self)
        if text.hasPrefix("e=") { throw .serverError(String(text.dropFirst(2))) }
        guard text.hasPrefix("v="), let signature = Data(base64Encoded: String(text.dropFirst(2))), let expectedSignature else {
            throw .malformed("server-final-message")
        }
        guard constantTimeEqual(Array(signature), expectedSignature) else { throw .badServerSignature }
    }
}

/// Why a SCRAM exchange failed on the client's side.
public enum ScramClientError: Error, Sendable, CustomStringConvertible {
    case malformed(String)
    case serverError(String)
    case badServerSignature

    public var description: String {
        switch self {
        case .malformed(let what): "malformed SCRAM \(what)"
        case .serverError(let error): "the server refused the SCRAM exchange: \(error)"
        case .badServerSignature: "the server's SCRAM signature is wrong: it does not know the password"
        }
    }
}
