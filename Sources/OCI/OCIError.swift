/// One error type for the whole module: a code for callers that branch on the kind of failure,
/// and a message written for the user (what went wrong, and how to fix it where we know).
public struct OCIError: Error, CustomStringConvertible, Sendable, Equatable {
    public enum Code: Sendable, Equatable {
        /// Bad input from the user: a malformed reference, an image or tag that does not exist.
        case invalidReference, notFound, unauthorized, unsupported, noMatchingPlatform
        /// Content that does not match what it claims to be.
        case digestMismatch, invalidContent
        /// The network or the registry failed; worth retrying.
        case transient
        /// The registry took the connection and then sent nothing for `RegistryClient.readTimeout`:
        /// retried once only, since a server that hangs usually keeps hanging.
        case stalled
        /// The local store or file system failed.
        case store
    }

    public let code: Code
    public let message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { message }

    /// Errors caused by what the user asked for, as opposed to a failure of the tool or machine.
    public var isUserError: Bool {
        switch code {
        case .invalidReference, .notFound, .unauthorized, .unsupported, .noMatchingPlatform: true
        default: false
        }
    }
}
