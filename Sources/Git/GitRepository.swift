import CGit2
import Foundation

/// The one place devenv talks to libgit2. Everything libgit2 hands back is copied into Swift
/// values before the repository handle is freed.
public enum GitRepository {
    /// libgit2 keeps global state that must be set up once per process before any call.
    static let initialized: Bool = {
        git_libgit2_init()
        return true
    }()

    /// The working-tree root of the repository containing `path` (from any subfolder and from a
    /// linked worktree), or nil outside a repository. A bare repository has no working tree and
    /// counts as none.
    ///
    /// This walks up the way `git_repository_discover` does (stopping at a file system boundary,
    /// as libgit2 does without GIT_REPOSITORY_OPEN_CROSS_FS) rather than calling it: every
    /// `devenv run` asks, and `git_libgit2_init` alone costs several milliseconds of a start
    /// that should cost few, because libgit2's mbedTLS backend parses the system's whole CA
    /// bundle at init. libgit2 stays what clones and reads repositories.
    public static func discoverWorkingTree(from path: String) -> String? {
        var directory = path.count > 1 && path.hasSuffix("/") ? String(path.dropLast()) : path
        var info = stat()
        guard stat(directory, &info) == 0 else { return nil }
        let device = info.st_dev
        while true {
            if isWorkingTree(directory) { return directory }
            guard directory != "/", let slash = directory.lastIndex(of: "/") else { return nil }
            let parent = slash == directory.startIndex ? "/" : String(directory[..<slash])
            guard stat(parent, &info) == 0, info.st_dev == device else { return nil }
            directory = parent
        }
    }

    /// `directory/.git` is a repository (a directory with HEAD and objects) or a linked
    /// worktree's or submodule's pointer file (`gitdir: …`).
    static func isWorkingTree(_ directory: String) -> Bool {
        let dotGit = (directory == "/" ? "" : directory) + "/.git"
        var info = stat()
        guard lstat(dotGit, &info) == 0 else { return false }
        switch info.st_mode & S_IFMT {
        case S_IFDIR:
            return access(dotGit + "/HEAD", F_OK) == 0 && access(dotGit + "/objects", F_OK) == 0
        case S_IFREG:
            guard let handle = FileHandle(forReadingAtPath: dotGit) else { return false }
            defer { try? handle.close() }
            return (try? handle.read(upToCount: 8)).map { String(decoding: $0, as: UTF8.self) == "gitdir: " } ?? false
        default:
            return false
        }
    }

    /// libgit2's version, for `devenv doctor`.
    public static var libraryVersion: String {
        _ = initialized
        var major: Int32 = 0, minor: Int32 = 0, revision: Int32 = 0
        git_libgit2_version(&major, &minor, &revision)
        return "\(major).\(minor).\(revision)"
    }

    /// The network transports this libgit2 was built with, besides local paths and file://
    /// (ssh needs libssh2): what `devenv clone` can fetch from.
    public static var transports: [String] {
        _ = initialized
        let features = UInt32(bitPattern: git_libgit2_features())
        return [("https", GIT_FEATURE_HTTPS), ("ssh", GIT_FEATURE_SSH)].filter { features & $0.1.rawValue != 0 }.map(\.0)
    }
}
