import Foundation

/// A path in the repository that code inside the sandbox must not turn into code the host runs
/// later: git runs `.git/hooks` and the commands `.git/config` names (core.fsmonitor,
/// core.hooksPath, aliases, filters, …) on the host, and devenv applies `.devenv/` on the next start.
/// Each is bound over itself read-only inside. `.git` itself is bound over itself read-write: a
/// mount point cannot be renamed or removed, so the sandbox cannot swap in a `.git` of its own,
/// while git inside still commits, fetches and checks out.
public struct ProtectedPath: Sendable, Equatable {
    /// Relative to the repository's root.
    public var path: String
    public var readOnly: Bool

    public init(_ path: String, readOnly: Bool) {
        self.path = path
        self.readOnly = readOnly
    }

    /// What to protect in `repository`, from what is there now (lstat: a symlink is never
    /// followed out of the repository). A repository without `.git/hooks` gets an empty one, as
    /// `git init` makes it, so that the sandbox cannot create it with hooks inside.
    public static func inRepository(_ repository: String) -> [ProtectedPath] {
        var paths: [ProtectedPath] = []
        switch kind(repository + "/.git") {
        case S_IFDIR:
            paths.append(ProtectedPath(".git", readOnly: false))
            if kind(repository + "/.git/config") == S_IFREG { paths.append(ProtectedPath(".git/config", readOnly: true)) }
            if kind(repository + "/.git/hooks") == nil { mkdir(repository + "/.git/hooks", 0o755) }
            if kind(repository + "/.git/hooks") == S_IFDIR { paths.append(ProtectedPath(".git/hooks", readOnly: true)) }
            // Submodules' own git directories: their configs and hooks run on the host the same way.
            if kind(repository + "/.git/modules") == S_IFDIR { paths.append(ProtectedPath(".git/modules", readOnly: true)) }
        case S_IFREG:
            // A worktree's or submodule's `gitdir:` pointer: rewritten, it would send the host's git
            // to a directory the sandbox made.
            paths.append(ProtectedPath(".git", readOnly: true))
        default:
            break
        }
        if kind(repository + "/.devenv") == S_IFDIR { paths.append(ProtectedPath(".devenv", readOnly: true)) }
        return paths
    }

    /// The paths whose appearance, disappearance or replacement changes what `inRepository` returns:
    /// a launch record checks them.
    public static let watched = [".git", ".git/config", ".git/hooks", ".git/modules", ".devenv"]

    static func kind(_ path: String) -> mode_t? {
        var info = stat()
        guard lstat(path, &info) == 0 else { return nil }
        return info.st_mode & S_IFMT
    }
}
