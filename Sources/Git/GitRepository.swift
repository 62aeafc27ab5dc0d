import CGit2
import CDiscovery
import Foundation

/// The one place devenv talks to libgit2. Everything libgit2 hands back is copied into Swift
/// values before the repository handle is freed.
public enum GitRepository {
    /// libgit2 keeps global state that must be set up once per process before any call.
    static let initialized: Bool = {
        git_libgit2_init()
        TimedSocketStream.register()
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
    /// bundle at init. The walk is CDiscovery's, so the fast-start launcher finds the same project.
    public static func discoverWorkingTree(from path: String) -> String? {
        var found = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        guard cdiscovery_work_tree(path, &found, found.count) == 1 else { return nil }
        return String(decoding: found.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
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
