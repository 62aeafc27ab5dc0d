/// An error devenv reports and exits on: `user` errors (bad input: exit 1) are the user's to
/// fix; `internal` ones (exit 3) are failures of the machine, network or tool.
public struct DevenvError: Error, CustomStringConvertible {
    public enum Kind: Sendable { case user, `internal` }
    public let kind: Kind
    public let description: String

    public static func user(_ message: String) -> DevenvError { DevenvError(kind: .user, description: message) }
    public static func `internal`(_ message: String) -> DevenvError { DevenvError(kind: .internal, description: message) }
}
