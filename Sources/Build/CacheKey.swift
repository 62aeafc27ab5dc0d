import Crypto
import Foundation

/// A build layer's name in `layers/`: a hash of its parent's key, what the step does and the lock
/// entries it installs (docs/architecture.md, "Data flow" and "`build-…` cache keys"), so a
/// change anywhere below or in the step itself gives a new key and an unchanged chain finds every
/// layer where it was.
public struct CacheKey: Hashable, Sendable, CustomStringConvertible {
    public let hex: String

    public init(parent: String, step: String, inputs: [String]) {
        var hasher = SHA256()
        // Length-prefixed fields: no two different input lists hash the same bytes.
        for field in [parent, step] + inputs {
            let bytes = Array(field.utf8)
            hasher.update(data: Array("\(bytes.count):".utf8))
            hasher.update(data: bytes)
        }
        hex = hasher.finalize().map { String(format: "%02x", $0) }.joined()
    }

    /// Build layers are told apart from image layers (named by a chain id's 64 hex digits) by a
    /// prefix; 58 hex digits (232 bits) keep names as short as chain ids.
    public var description: String { "build-" + hex.prefix(58) }
}
