import Foundation
import OCI

/// A setting of devenv.toml that reaches outside the repository or weakens the sandbox, and so
/// runs only after the user approved it on this machine with `devenv trust` (docs/architecture.md,
/// "Trust boundary"). A cloned repository's manifest is a stranger's: without this, `clone --enter`
/// would hand it `~/.ssh` read-write or an unfiltered kernel.
///
/// What the manifest can ask for and why each is (or is not) a request:
/// - `[mounts]`, every entry, read-only too: a host path inside is the host's file, to read (keys)
///   or to change (`~/.bashrc`).
/// - `[security] seccomp = "unconfined"`: the kernel's whole system-call surface.
/// - `[network] ports`, every entry: a port of the host's 127.0.0.1 answered by code from the
///   repository, where the user's own clients (or other users') may expect a service of theirs
///   (a database on 5432 would hand it their password).
/// - Not requests: `[env]`, `[shell]`, `[[setup]]`, `[packages]`, `[services]` act only inside
///   the sandbox, and `[volumes]` are directories of devenv's own store, not host paths;
///   `[network] mode` can only take the network away; `[base] image` content is checked against
///   its digest and `mirror`'s against Debian's signing keys, so neither runs unverified code.
public struct TrustRequest: Sendable, Equatable {
    /// The setting as the manifest has it: `[mounts] "~/.ssh" = "rw"`.
    public var setting: String
    /// What it gives code inside: `host path /home/me/.ssh, read-write`.
    public var meaning: String
    /// Where the setting is; nil for a manifest not parsed from text.
    public var position: SourcePosition?
    /// What is asked for in a fixed form, independent of where and how the manifest writes it
    /// (`mount read-write "/home/me/.ssh"`): the approval covers these, so moving a line or adding
    /// a package asks nothing new, while another path or mode does.
    public var canonical: String

    public init(setting: String, meaning: String, position: SourcePosition?, canonical: String) {
        self.setting = setting
        self.meaning = meaning
        self.position = position
        self.canonical = canonical
    }

    /// `FILE:LINE: SETTING: MEANING`, one line of what devenv asks the user to approve.
    public func line(file: String) -> String {
        "\(file):\(position.map { "\($0.line):" } ?? "") \(setting): \(meaning)"
    }

    /// The requests of `manifest` (mounts, published ports, then security); empty when it needs no approval.
    public static func requests(of manifest: Manifest) -> [TrustRequest] {
        var requests = manifest.mounts.map { mount in
            let mode = mount.readOnly ? "read-only" : "read-write"
            return TrustRequest(setting: "[mounts] \(quote(mount.written)) = \(mount.readOnly ? "\"ro\"" : "\"rw\"")",
                                meaning: "host path \(mount.hostPath), \(mode)", position: mount.position,
                                canonical: "mount \(mode) \(quote(mount.hostPath))")
        }
        for port in manifest.ports {
            requests.append(TrustRequest(setting: "[network] ports \"\(port.host):\(port.inside)\"",
                                         meaning: "the host's 127.0.0.1:\(port.host) answered by the environment's port \(port.inside)",
                                         position: manifest.portsPosition, canonical: "publish 127.0.0.1:\(port.host) \(port.inside)"))
        }
        if manifest.seccomp == .unconfined {
            requests.append(TrustRequest(setting: "[security] seccomp = \"unconfined\"",
                                         meaning: "no system call filter (code inside can make every system call the kernel has)",
                                         position: manifest.seccompPosition, canonical: "seccomp unconfined"))
        }
        return requests
    }

    /// `sha256:…` of the canonical forms, sorted (the order of lines in the file does not matter),
    /// with a version line so that a future form never matches an approval of this one.
    public static func digest(_ canonical: [String]) -> String {
        Digest(hashing: Array((["devenv-trust 1"] + canonical.sorted()).map { $0 + "\n" }.joined().utf8)).description
    }

    /// A string in double quotes with `"`, `\` and control characters escaped, in full: two paths
    /// must never look alike, in a message or in the canonical form.
    static func quote(_ value: String) -> String {
        var text = "\""
        for scalar in value.unicodeScalars {
            switch scalar {
            case "\"": text += "\\\""
            case "\\": text += "\\\\"
            case _ where scalar.value < 0x20 || scalar.value == 0x7f:
                text += "\\u" + String(format: "%04x", scalar.value)
            default: text.unicodeScalars.append(scalar)
            }
        }
        return text + "\""
    }
}
