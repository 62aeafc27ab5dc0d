/// A problem in devenv.toml: where it is, what is wrong and what was expected, and how to fix it.
public struct ManifestError: Error, Sendable, Equatable, CustomStringConvertible {
    public var file: String
    public var position: SourcePosition
    /// What is wrong, including what was expected.
    public var problem: String
    /// What to change.
    public var fix: String

    public init(file: String, position: SourcePosition, problem: String, fix: String) {
        self.file = file
        self.position = position
        self.problem = problem
        self.fix = fix
    }

    public var description: String { "\(file):\(position): \(problem)\n  fix: \(fix)" }
}
