/// An error devenv reports and exits on: `user` errors (bad input: exit 1) are the user's to
/// fix; `internal` ones (exit 3) are failures of the machine, network or tool.
struct DevenvError: Error, CustomStringConvertible {
    enum Kind { case user, `internal` }
    let kind: Kind
    let description: String

    static func user(_ message: String) -> DevenvError { DevenvError(kind: .user, description: message) }
    static func `internal`(_ message: String) -> DevenvError { DevenvError(kind: .internal, description: message) }
}
