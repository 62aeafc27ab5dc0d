/// Why a git operation failed. `message` is worded for users and, for libgit2 failures, carries
/// libgit2's own explanation (`git_error_last`).
public struct GitError: Error, CustomStringConvertible, Sendable {
    public enum Code: Sendable, Equatable {
        /// The destination exists and is not an empty directory (git's rule).
        case destinationExists
        /// The caller stopped the clone (an interrupt).
        case cancelled
        /// The local file system refused something (creating, renaming, removing).
        case fileSystem
        /// libgit2 failed: a bad URL, an unreachable host, refused credentials, a broken pack…
        case library
    }

    public let code: Code
    public let message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { message }
}
