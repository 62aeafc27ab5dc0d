/// A build or resolve step that could not run, with what the user needs to see.
public struct BuildError: Error, CustomStringConvertible {
    public let description: String

    public init(_ description: String) {
        self.description = description
    }
}
