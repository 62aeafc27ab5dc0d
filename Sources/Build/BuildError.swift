/// A build or resolve step that could not run or failed, with what the user needs to see.
public struct BuildError: Error, CustomStringConvertible {
    public let description: String
    /// The step ran and failed (the user's manifest or the mirror), rather than the machine.
    public let isUserError: Bool

    public init(_ description: String, isUserError: Bool = false) {
        self.description = description
        self.isUserError = isUserError
    }
}
