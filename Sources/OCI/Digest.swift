import Crypto
import Foundation

/// A content digest, `sha256:<64 lowercase hex>`. Only sha256 is accepted: it is what every
/// registry and the OCI image spec use by default, and accepting more would widen what a
/// malicious manifest could make us trust.
public struct Digest: Hashable, Sendable, Codable, CustomStringConvertible, Comparable {
    public let hex: String

    public init(_ string: String) throws {
        guard string.hasPrefix("sha256:") else {
            throw OCIError(.invalidContent, "unsupported digest \"\(string)\": expected sha256:<64 hex digits>")
        }
        let hex = String(string.dropFirst(7))
        guard hex.utf8.count == 64, hex.utf8.allSatisfy({ (48...57).contains($0) || (97...102).contains($0) }) else {
            throw OCIError(.invalidContent, "malformed digest \"\(string)\": expected sha256:<64 lowercase hex digits>")
        }
        self.hex = hex
    }

    public init(hashing data: some DataProtocol) {
        self.hex = SHA256.hash(data: data).hexString
    }

    init(hex: String) { self.hex = hex }

    public var description: String { "sha256:" + hex }
    /// The short form users see in listings, as Docker shows image ids.
    public var short: String { String(hex.prefix(12)) }

    public init(from decoder: any Decoder) throws {
        try self.init(try decoder.singleValueContainer().decode(String.self))
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(description)
    }

    public static func < (lhs: Digest, rhs: Digest) -> Bool { lhs.hex < rhs.hex }
}

extension SHA256.Digest {
    var hexString: String {
        var out = ""
        out.reserveCapacity(64)
        for byte in self {
            out.append(hexDigits[Int(byte >> 4)])
            out.append(hexDigits[Int(byte & 0x0f)])
        }
        return out
    }
}

private let hexDigits = Array("0123456789abcdef")

extension SHA256 {
    var finalizedDigest: OCI.Digest { OCI.Digest(hex: finalize().hexString) }
}
