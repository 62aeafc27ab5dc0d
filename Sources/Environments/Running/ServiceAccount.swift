import ImageStore
import Manifest
import Sandbox

/// The user a service runs as (`[services.NAME] user`), from the environment's /etc/passwd as
/// the sandbox shows it, checked against the sandbox's id mapping.
struct ServiceAccount: Sendable, Equatable {
    var name: String
    var uid: UInt32
    var gid: UInt32
    var home: String

    /// `user` (a name or a uid) in `passwd`; a uid with no entry runs with its own number as gid.
    static func find(_ user: String, passwd: String) -> ServiceAccount? {
        let entries = passwd.split(separator: "\n").map { $0.split(separator: ":", omittingEmptySubsequences: false) }
            .filter { $0.count >= 7 }
        if let entry = entries.first(where: { String($0[0]) == user || (UInt32(user) != nil && String($0[2]) == user) }),
           let uid = UInt32(entry[2]), let gid = UInt32(entry[3]) {
            return ServiceAccount(name: String(entry[0]), uid: uid, gid: gid, home: String(entry[5]))
        }
        guard let uid = UInt32(user) else { return nil }
        return ServiceAccount(name: user, uid: uid, gid: uid, home: "/")
    }

    /// The account for `user` (nil: the environment's own user, as `spec` has it), or an
    /// error naming the manifest's line and the fix. `subject` starts the error's sentence:
    /// `service "db" runs as`, `volume "pgdata" belongs to`.
    static func resolve(_ user: String?, for subject: String, spec: SandboxSpec, manifestPath: String,
                        position: SourcePosition) throws -> ServiceAccount {
        let passwd = spec.files.first { $0.path == "/etc/passwd" }?.contents ?? ""
        guard let user else {
            let own = find(String(spec.identity.uid), passwd: passwd)
            return ServiceAccount(name: own?.name ?? String(spec.identity.uid), uid: spec.identity.uid, gid: spec.identity.gid,
                                  home: own?.home ?? "/")
        }
        guard let account = find(user, passwd: passwd) else {
            throw DevenvError.user("""
                \(manifestPath):\(position.line):\(position.column): \(subject) "\(user)", which is not a user of the environment's /etc/passwd
                  fix: install the package that creates it in [packages] apt (the postgresql package creates postgres), or name an existing user
                """)
        }
        let mapped = { (id: UInt32, ranges: [IDRange]) in ranges.contains { id >= $0.inside && UInt64(id) < UInt64($0.inside) + UInt64($0.count) } }
        guard mapped(account.uid, spec.identity.uids), mapped(account.gid, spec.identity.gids) else {
            let fix = spec.identity.mode == .single
                ? "add subordinate ids for your user (as root: usermod --add-subuids 100000-165535 --add-subgids 100000-165535 $USER), then run devenv up again"
                : "give your user a larger subordinate range in /etc/subuid and /etc/subgid (65536 ids)"
            throw DevenvError.user("""
                \(manifestPath):\(position.line):\(position.column): \(subject) \(account.name) (uid \(account.uid), gid \(account.gid)), \
                which this machine cannot map into the sandbox: \(spec.identity.mode == .single ? "devenv runs with a single-id mapping, in which only your own id exists" : "the id is outside your subordinate ranges")
                  fix: \(fix)
                """)
        }
        return account
    }
}
