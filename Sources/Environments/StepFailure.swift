import Build

/// A build step that ran and failed: its command and last lines, and how to see everything.
public struct StepFailure: Error, CustomStringConvertible {
    public let step: BuildStep
    public let result: StepRunner.Result
    public let quiet: Bool

    public var description: String {
        let command = step.command.last ?? ""
        // Streamed output was already seen; quiet runs show the end of it here.
        let tail = quiet ? result.lastLines.suffix(25).map { "    │ \($0)" }.joined(separator: "\n") + "\n" : ""
        return """
            build step "\(step.title)" failed with exit status \(result.status)
            \(tail)  command: \(command.split(separator: "\n").joined(separator: "\n           "))
              fix: correct the step in .devenv/devenv.toml (or the package versions in the lock: devenv lock --update), then run devenv build again
            """
    }
}
