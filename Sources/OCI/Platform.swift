#if canImport(Glibc)
import Glibc
#endif

/// An image platform, with the normalisation containerd applies so `aarch64` matches `arm64/v8`.
public struct Platform: Codable, Hashable, Sendable, CustomStringConvertible {
    public var os: String
    public var architecture: String
    public var variant: String?

    enum CodingKeys: String, CodingKey {
        case os, architecture, variant
    }

    public init(os: String, architecture: String, variant: String? = nil) {
        self.os = os
        self.architecture = architecture
        self.variant = variant
    }

    public var description: String { [os, architecture, variant].compactMap { $0 }.joined(separator: "/") }

    /// The platform of the machine devenv runs on.
    public static let host: Platform = {
        var name = utsname()
        uname(&name)
        let machine = withUnsafeBytes(of: &name.machine) { String(decoding: $0.prefix(while: { $0 != 0 }), as: UTF8.self) }
        return Platform(os: "linux", architecture: machine).normalized
    }()

    public var normalized: Platform {
        switch architecture {
        case "x86_64", "x86-64", "amd64": return Platform(os: os, architecture: "amd64")
        case "aarch64", "arm64": return Platform(os: os, architecture: "arm64", variant: variant == "v8" ? nil : variant)
        case "armhf", "armv7l": return Platform(os: os, architecture: "arm", variant: "v7")
        case "i386", "i686": return Platform(os: os, architecture: "386")
        default: return self
        }
    }

    /// Whether an image built for `candidate` runs here. Variants only matter when both sides name one.
    public func accepts(_ candidate: Platform) -> Bool {
        let mine = normalized, theirs = candidate.normalized
        guard mine.os == theirs.os, mine.architecture == theirs.architecture else { return false }
        if let a = mine.variant, let b = theirs.variant { return a == b }
        return true
    }
}
