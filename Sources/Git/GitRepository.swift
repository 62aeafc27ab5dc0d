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
    public static func discoverWorkingTree(from path: String) -> String? {
        _ = initialized
        var buffer = git_buf()
        defer { git_buf_dispose(&buffer) }
        guard git_repository_discover(&buffer, path, 0, nil) == 0, let found = buffer.ptr else { return nil }
        var repo: OpaquePointer?
        guard git_repository_open(&repo, found) == 0, let repo else { return nil }
        defer { git_repository_free(repo) }
        guard let workdir = git_repository_workdir(repo) else { return nil }
        let root = String(cString: workdir)
        return root.count > 1 && root.hasSuffix("/") ? String(root.dropLast()) : root
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
