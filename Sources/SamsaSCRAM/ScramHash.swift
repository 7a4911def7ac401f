import Crypto

/// The hash of a SCRAM mechanism, with the HMAC and the PBKDF2 (`Hi`) built on it.
public enum ScramHash: Sendable {
    case sha256
    case sha512

    public func digest(_ data: [UInt8]) -> [UInt8] {
        switch self {
        case .sha256: Array(SHA256.hash(data: data))
        case .sha512: Array(SHA512.hash(data: data))
        }
    }

    public func hmac(key: [UInt8], _ data: [UInt8]) -> [UInt8] {
        let key = SymmetricKey(data: key)
        switch self {
        case .sha256: return Array(HMAC<SHA256>.authenticationCode(for: data, using: key))
        case .sha512: return Array(HMAC<SHA512>.authenticationCode(for: data, using: key))
        }
    }

    /// `Hi(password, salt, iterations)`: PBKDF2 with this HMAC, one block (RFC 5802 §2.2).
    public func saltedPassword(_ password: [UInt8], salt: [UInt8], iterations: Int) -> [UInt8] {
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
public func constantTimeEqual(_ left: [UInt8], _ right: [UInt8]) -> Bool {
    guard left.count == right.count else { return false }
    var difference: UInt8 = 0
    for index in left.indices { difference |= left[index] ^ right[index] }
    return difference == 0
}
