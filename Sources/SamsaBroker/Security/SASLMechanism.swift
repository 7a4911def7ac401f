import SamsaSCRAM

/// A SASL mechanism the broker can offer (`sasl.enabled.mechanisms`).
public enum SASLMechanism: String, Sendable, CaseIterable, Codable {
    case plain = "PLAIN"
    case scramSHA256 = "SCRAM-SHA-256"
    case scramSHA512 = "SCRAM-SHA-512"

    /// The SCRAM hash of a SCRAM mechanism; nil for PLAIN.
    var scram: ScramHash? {
        switch self {
        case .plain: nil
        case .scramSHA256: .sha256
        case .scramSHA512: .sha512
        }
    }

    /// The mechanism of a SCRAM credential in Describe/AlterUserScramCredentials (Kafka's
    /// `ScramMechanism`: 1 SHA-256, 2 SHA-512).
    init?(scramType: Int8) {
        switch scramType {
        case 1: self = .scramSHA256
        case 2: self = .scramSHA512
        default: return nil
        }
    }

    var scramType: Int8 {
        switch self {
        case .plain: 0
        case .scramSHA256: 1
        case .scramSHA512: 2
        }
    }
}
