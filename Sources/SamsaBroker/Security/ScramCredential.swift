import Crypto

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

/// The hash of a SCRAM mechanism, with the HMAC and the PBKDF2 (`Hi`) built on it.
enum ScramHash: Sendable {
    case sha256
    case sha512

    func digest(_ data: [UInt8]) -> [UInt8] {
        switch self {
        case .sha256: Array(SHA256.hash(data: data))
        case .sha512: Array(SHA512.hash(data: data))
        }
    }

    func hmac(key: [UInt8], _ data: [UInt8]) -> [UInt8] {
        let key = SymmetricKey(data: key)
        switch self {
        case .sha256: return Array(HMAC<SHA256>.authenticationCode(for: data, using: key))
        case .sha512: return Array(HMAC<SHA512>.authenticationCode(for: data, using: key))
        }
    }

    /// `Hi(password, salt, iterations)`: PBKDF2 with this HMAC, one block (RFC 5802 §2.2).
    func saltedPassword(_ password: [UInt8], salt: [UInt8], iterations: Int) -> [UInt8] {
        var block = hmac(key: password, salt + [0, 0, 0, 1])
        var result = block
        for _ in 1..<max(iterations, 1) {
            block = hmac(key: password, block)
            for index in result.indices { result[index] ^= block[index] }
        }
        return result
    }
}

/// Compares two secrets in a time that depends only on their lengths (CVE-2021-38153).
func constantTimeEqual(_ left: [UInt8], _ right: [UInt8]) -> Bool {
    guard left.count == right.count else { return false }
    var difference: UInt8 = 0
    for index in left.indices { difference |= left[index] ^ right[index] }
    return difference == 0
}
