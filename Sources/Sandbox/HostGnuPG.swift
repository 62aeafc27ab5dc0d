import Crypto
import Foundation

/// The user's GnuPG agent, for signing commits inside: its *extra* socket (the one gpg-agent
/// makes for forwarding, which cannot export or change keys), found where gpg itself looks, and
/// the public keyring and trust database gpg needs to know which key to ask the agent for. No
/// private key file is ever mounted: those stay in `private-keys-v1.d`, which is not.
public struct HostGnuPG: Sendable, Equatable {
    /// The agent's extra socket on the host.
    public var socket: String
    /// Public files of the host's GnuPG home, by name (`pubring.kbx`, `trustdb.gpg`, …).
    public var publicFiles: [String]
    public var homeDirectory: String

    /// What the inside gpg reads from its home, read-only.
    static let publicNames = ["pubring.kbx", "pubring.gpg", "trustdb.gpg"]
    /// The caller's variables that decide where these are.
    public static let variables = ["GNUPGHOME"]

    /// The agent of the user `uid` whose home is `home`, or nil when none is running.
    public static func of(home: String, uid: uid_t, environment: [String: String]) -> HostGnuPG? {
        let gnupgHome = gnupgHome(home: home, environment: environment)
        guard let socket = candidates(home: home, uid: uid, environment: environment).first(where: { isOwnSocket($0, uid: uid) }) else {
            return nil
        }
        let files = publicNames.map { gnupgHome + "/" + $0 }.filter { path in
            var info = stat()
            return lstat(path, &info) == 0 && info.st_mode & S_IFMT == S_IFREG && info.st_uid == uid
        }
        return HostGnuPG(socket: socket, publicFiles: files, homeDirectory: gnupgHome)
    }

    /// Where gpg would find the agent's extra socket, in gpg's order: a launch record checks them,
    /// so an agent started later is noticed.
    public static func candidates(home: String, uid: uid_t, environment: [String: String]) -> [String] {
        let gnupgHome = gnupgHome(home: home, environment: environment)
        let runtime = runtimeSocketDirectory(uid: uid, gnupgHome: gnupgHome, defaultHome: home + "/.gnupg")
        return (runtime.map { [$0 + "/S.gpg-agent.extra"] } ?? []) + [gnupgHome + "/S.gpg-agent.extra"]
    }

    /// The public files gpg reads, present or not, for a launch record.
    public var looked: [String] { Self.publicNames.map { homeDirectory + "/" + $0 } }

    static func gnupgHome(home: String, environment: [String: String]) -> String {
        environment["GNUPGHOME"].flatMap { $0.hasPrefix("/") ? ($0 as NSString).standardizingPath : nil } ?? home + "/.gnupg"
    }

    /// GnuPG's rule (common/homedir.c): `/run/user/UID/gnupg` when /run/user/UID is the user's
    /// and private, with `d.` + the z-base-32 of the first 15 bytes of SHA-1(home) below it for a
    /// home other than the default.
    static func runtimeSocketDirectory(uid: uid_t, gnupgHome: String, defaultHome: String) -> String? {
        let runtime = "/run/user/\(uid)"
        var info = stat()
        guard stat(runtime, &info) == 0, info.st_mode & S_IFMT == S_IFDIR, info.st_uid == uid, info.st_mode & 0o077 == 0 else { return nil }
        let directory = runtime + "/gnupg"
        return gnupgHome == defaultHome ? directory : directory + "/" + hashedName(gnupgHome)
    }

    /// `d.` + the z-base-32 of the first 15 bytes of SHA-1(home): the socket directory's name
    /// under /run/user/UID/gnupg for a home other than the default.
    static func hashedName(_ gnupgHome: String) -> String {
        "d." + zBase32(Array(Array(Insecure.SHA1.hash(data: Array(gnupgHome.utf8))).prefix(15)))
    }

    /// z-base-32 (RFC 6189's alphabet), most significant bit first.
    static func zBase32(_ bytes: [UInt8]) -> String {
        let alphabet = Array("ybndrfg8ejkmcpqxot1uwisza345h769")
        var result = ""
        var buffer = 0, bits = 0
        for byte in bytes {
            buffer = (buffer << 8) | Int(byte)
            bits += 8
            while bits >= 5 {
                bits -= 5
                result.append(alphabet[(buffer >> bits) & 31])
            }
        }
        if bits > 0 { result.append(alphabet[(buffer << (5 - bits)) & 31]) }
        return result
    }

    private static func isOwnSocket(_ path: String, uid: uid_t) -> Bool {
        var info = stat()
        return lstat(path, &info) == 0 && info.st_mode & S_IFMT == S_IFSOCK && info.st_uid == uid
    }
}
