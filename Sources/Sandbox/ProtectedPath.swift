/// A path in the repository bound over itself inside the sandbox (`RepositoryProtection` says
/// which and why): read-only, so code inside cannot turn it into code the host runs later, or
/// read-write for a git directory, which then cannot be renamed or removed.
public struct ProtectedPath: Sendable, Equatable {
    /// Relative to the repository's root.
    public var path: String
    public var readOnly: Bool
    /// The path is a symlink, bound itself: it can be neither removed nor pointed elsewhere.
    public var symlink: Bool

    public init(_ path: String, readOnly: Bool, symlink: Bool = false) {
        self.path = path
        self.readOnly = readOnly
        self.symlink = symlink
    }
}
