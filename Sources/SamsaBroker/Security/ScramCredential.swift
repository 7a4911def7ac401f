import SamsaSCRAM

/// What the broker keeps of a SCRAM password (RFC 5802 §3): the salt, the iterations, and two
/// keys derived from the salted password. The password itself is never stored, and neither
/// key lets anyone log in without it.
public struct ScramCredential: Sendable, Codable, Equatable {
    public var salt: [UInt8]
    public var iterations: Int
    /// H(ClientKey): checks a client's proof.
    public var storedKey: [UInt8]
    /// HMAC(SaltedPassword, "Server Key"): signs the broker's final message.
    public var serverKey: [UInt8]

    /// The credential of `saltedPassword` (what AlterUserScramCredentials carries).
    init(hash: ScramHash, salt: [UInt8], saltedPassword: [UInt8], iterations: Int) {
        self.salt = salt
        self.iterations = iterations
        let clientKey = hash.hmac(key: saltedPassword, Array("Client Key".utf8))
        self.storedKey = hash.digest(clientKey)
        self.serverKey = hash.hmac(key: saltedPassword, Array("Server Key".utf8))
    }

    /// The credential of `password`.
    init(hash: ScramHash, password: String, salt: [UInt8], iterations: Int) {
        self.init(
            hash: hash, salt: salt, saltedPassword: hash.saltedPassword(Array(password.utf8), salt: salt, iterations: iterations),
            iterations: iterations)
    }

    /// Whether `password` is the one this credential was made from (for SASL/PLAIN).
    func matches(password: String, hash: ScramHash) -> Bool {
        let candidate = ScramCredential(hash: hash, password: password, salt: salt, iterations: iterations)
        return constantTimeEqual(candidate.storedKey, storedKey)
    }

    /// Kafka accepts 4096 to 16384 iterations.
    static let iterationRange = 4096...16384
}
