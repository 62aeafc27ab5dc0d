import Foundation
import Storage

#if canImport(Glibc)
import Glibc
#endif

/// Layer trees keep the owners and modes their images give them, setuid-root binaries included,
/// and everything in the store is trusted once there: a layer directory is mounted as it is, a
/// path under `tmp/` is written through. So the store must be its owner's alone. Its root and
/// top-level directories are made 0700, which also keeps every other user from reaching a
/// setuid file below them (rootless with subordinate ids, the layer files belong to those ids,
/// but these directories stay the caller's). A store someone else owns or can write to may
/// already hold what they planted, so it is refused rather than repaired.
extension StoreLocation {
    public var topLevelDirectories: [String] { [oci, layers, envs, tmp] }

    /// Checks the store before writing anything, then creates what is missing and takes group and
    /// other permissions off what is there.
    func makePrivate() throws {
        try Self.checkParents(of: root)
        var rootInfo = stat()
        let rootExists = stat(root, &rootInfo) == 0
        guard rootExists || errno == ENOENT else {
            throw DevenvError.user("cannot use the store at \(root): \(StorageError.posix("stat", errno)); choose another place with --store or DEVENV_HOME")
        }
        if rootExists {
            try Self.checkOwnership(root, rootInfo, what: "the store")
            for directory in topLevelDirectories {
                var info = stat()
                guard lstat(directory, &info) == 0 else { continue }
                guard (info.st_mode & S_IFMT) == S_IFDIR else {
                    throw DevenvError.user("""
                        the store's \(directory) is not a directory (a symlink or file put there), so the store at \(root) cannot be trusted
                          fix: choose another place with --store or DEVENV_HOME, or remove the store and pull again
                        """)
                }
                try Self.checkOwnership(directory, info, what: "the store's directory")
            }
        }
        do {
            if !rootExists {
                try AtomicFile.makeDirectories((root as NSString).deletingLastPathComponent)
                if mkdir(root, 0o700) != 0, errno != EEXIST { throw StorageError.posix("create directory \(root)", errno) }
            }
            for path in [root] + topLevelDirectories {
                if mkdir(path, 0o700) != 0, errno != EEXIST { throw StorageError.posix("create directory \(path)", errno) }
                var info = stat()
                guard stat(path, &info) == 0 else { throw StorageError.posix("stat \(path)", errno) }
                // Checked again: a directory made between the check above and here is not ours to trust.
                try Self.checkOwnership(path, info, what: path == root ? "the store" : "the store's directory")
                if info.st_mode & 0o077 != 0, chmod(path, 0o700) != 0 { throw StorageError.posix("chmod 700 \(path)", errno) }
            }
        } catch let error as StorageError {
            throw DevenvError.user("cannot create the store at \(root): \(error); choose another place with --store or DEVENV_HOME")
        }
    }

    /// Whoever can rename an entry of a directory above the store can swap the store itself (or a
    /// directory on the way) for one of theirs. So every existing directory above it, as written
    /// and with symlinks resolved, must belong to root or the caller and be writable by nobody
    /// else, unless it is sticky (as /tmp), where others cannot rename what is not theirs.
    static func checkParents(of root: String) throws {
        var chains = [ancestors(of: root)]
        if let resolved = realpath((root as NSString).deletingLastPathComponent, nil) {
            chains.append(ancestors(of: String(cString: resolved) + "/store"))
            free(resolved)
        }
        var checked: Set<String> = []
        for directory in chains.joined() where checked.insert(directory).inserted {
            var info = stat()
            guard stat(directory, &info) == 0 else { continue }
            let mode = "mode " + String(info.st_mode & 0o7777, radix: 8)
            if info.st_uid != 0, info.st_uid != geteuid() {
                throw DevenvError.user("""
                    the store \(root) is inside \(directory), which belongs to \(userName(info.st_uid)) (\(mode)): \
                    they could swap the store for one of theirs, and devenv would run what it holds
                      fix: choose a place inside directories of your own with --store or DEVENV_HOME (the default is)
                    """)
            }
            if info.st_mode & 0o022 != 0, info.st_mode & S_ISVTX == 0 {
                throw DevenvError.user("""
                    the store \(root) is inside \(directory), which is writable by \
                    \(info.st_mode & 0o002 != 0 ? "every user" : "its group") (\(mode)): another user could swap the store for one \
                    of theirs, and devenv would run what it holds
                      fix: chmod go-w \(directory) (or +t, as /tmp), or choose another place with --store or DEVENV_HOME
                    """)
            }
        }
    }

    /// The directories above `path` (absolute), nearest first.
    private static func ancestors(of path: String) -> [String] {
        var result: [String] = []
        var current = (path as NSString).deletingLastPathComponent
        while true {
            result.append(current)
            if current == "/" || current.isEmpty { break }
            current = (current as NSString).deletingLastPathComponent
        }
        return result
    }

    private static func checkOwnership(_ path: String, _ info: stat, what: String) throws {
        guard (info.st_mode & S_IFMT) == S_IFDIR else {
            throw DevenvError.user("\(what) \(path) is not a directory\n  fix: choose another place with --store or DEVENV_HOME")
        }
        let mode = "mode " + String(info.st_mode & 0o7777, radix: 8)
        guard info.st_uid == geteuid() else {
            throw DevenvError.user("""
                \(what) \(path) belongs to \(userName(info.st_uid)), not to you (\(userName(geteuid()))), \(mode): \
                its owner could plant files or swap layers in it, and devenv would run them
                  fix: use a store of your own with --store or DEVENV_HOME (the default is yours alone)
                """)
        }
        guard info.st_mode & 0o022 == 0 else {
            throw DevenvError.user("""
                \(what) \(path) is writable by \(info.st_mode & 0o002 != 0 ? "every user" : "its group") (\(mode)): \
                another user could plant files or swap layers in it, and devenv would run them
                  fix: chmod 700 \(path) if nobody else has used it, or choose another place with --store or DEVENV_HOME
                """)
        }
    }

    private static func userName(_ uid: uid_t) -> String {
        guard let entry = getpwuid(uid) else { return "uid \(uid)" }
        return "\(String(cString: entry.pointee.pw_name)) (uid \(uid))"
    }
}
