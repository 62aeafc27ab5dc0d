import Foundation
import Sandbox

#if canImport(Glibc)
import Glibc
#endif

/// Runs one build or resolve step's sandbox with its output on pipes devenv reads.
public enum StepRunner {
    public struct Result: Sendable {
        /// The command's exit status (128+N when killed by signal N).
        public var status: Int32
        /// stdout, when captured.
        public var output: Data
        /// The last lines the step wrote to its log (stderr, and stdout when not captured).
        public var lastLines: [String]
    }

    /// `captureOutput`: stdout is data (kept whole), stderr the log; otherwise both are the log.
    /// `onLine` gets each log line as it comes.
    public static func run(_ spec: SandboxSpec, captureOutput: Bool, onLine: (@Sendable (String) -> Void)?) throws -> Result {
        let log = try StepOutput(capture: false, onLine: onLine)
        let data = captureOutput ? try StepOutput(capture: true, onLine: nil) : nil
        let null = open("/dev/null", O_RDONLY | O_CLOEXEC)
        var spec = spec
        spec.standardInput = null
        spec.standardOutput = data?.writeEnd ?? log.writeEnd
        spec.standardError = log.writeEnd
        let status: Int32
        do {
            status = try Sandbox.run(spec)
        } catch {
            close(null)
            _ = data?.finish()
            let lines = log.finish().lastLines
            let detail = lines.isEmpty ? "" : "\n" + lines.joined(separator: "\n")
            throw BuildError("cannot start the build sandbox: \(error.message)\(detail)")
        }
        close(null)
        let captured = data?.finish().data ?? Data()
        return Result(status: status, output: captured, lastLines: log.finish().lastLines)
    }
}
