import Foundation

/// What a build tells the user: one line per layer saying cached, pulled or built (with the
/// time), and a running step's own output, indented, as it comes. `-q` keeps only errors; a
/// failing step then still shows its last lines (see `StepFailure`).
struct BuildOutput: Sendable {
    let quiet: Bool
    let verbose: Bool

    func heading(_ text: String) {
        if !quiet { Terminal.note(text) }
    }

    /// `  apt    12 packages    built in 23.4s`
    func layer(_ title: String, _ summary: String, _ state: String) {
        guard !quiet else { return }
        let name = title.padding(toLength: max(title.count, 12), withPad: " ", startingAt: 0)
        let what = summary.isEmpty ? "" : summary.padding(toLength: max(summary.count, 20), withPad: " ", startingAt: 0) + " "
        Terminal.note("  \(name) \(what)\(state)")
    }

    func starting(_ title: String, _ summary: String) {
        guard !quiet else { return }
        Terminal.note("  \(title)\(summary.isEmpty ? "" : " (\(summary))"): running…")
    }

    /// A step's own output line, streamed live unless quiet.
    var stepLine: (@Sendable (String) -> Void)? {
        guard !quiet else { return nil }
        return { line in Terminal.err("    │ \(line)\n") }
    }

    /// Resolution steps' output is noise unless asked for.
    var resolveLine: (@Sendable (String) -> Void)? {
        guard verbose, !quiet else { return nil }
        return { line in Terminal.err("    │ \(line)\n") }
    }
}
