import Glibc

/// The user running devenv, as the host's user database knows them.
public struct HostUser: Sendable, Equatable {
    public var name: String
    public var uid: UInt32
    public var gid: UInt32
    public var groupName: String
    /// The home directory's path on the host: the path $HOME has inside too.
    public var home: String

    public init(name: String, uid: UInt32, gid: UInt32, groupName: String, home: String) {
        self.name = name
        self.uid = uid
        self.gid = gid
        self.groupName = groupName
        self.home = home
    }

    /// The real user (not the effective one: a setuid wrapper must not change who you are inside).
    public static func current() -> HostUser {
        let uid = getuid(), gid = getgid()
        let entry = getpwuid(uid)?.pointee
        let name = entry.map { String(cString: $0.pw_name) } ?? "user\(uid)"
        let home = entry.map { String(cString: $0.pw_dir) } ?? (uid == 0 ? "/root" : "/home/\(name)")
        let groupName = getgrgid(gid).map { String(cString: $0.pointee.gr_name) } ?? name
        return HostUser(name: name, uid: uid, gid: gid, groupName: groupName, home: home)
    }
}
