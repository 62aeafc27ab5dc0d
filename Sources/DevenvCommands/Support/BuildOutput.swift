import Environments
import Foundation
import ImageStore

/// Shows a build's events on stderr: one line per layer saying cached, pulled or built (with the
/// time), and a running step's own output, indented, as it comes. `-q` keeps only errors; a
/// failing step then still shows its last lines (see `StepFailure`).
enum BuildOutput {
    static func progress(quiet: Bool, verbose: Bool) -> BuildProgress {
        let pull = PullProgress(quiet: quiet)
        return BuildProgress(quiet: quiet, verbose: verbose) { event in
            if case .pull(let event) = event { pull.handle(event) } else { Terminal.err(line(event)) }
        }
    }

    static func line(_ event: BuildEvent) -> String {
        switch event {
        case .heading(let text): return text + "\n"
        case .starting(let title, let summary): return "  \(title)\(summary.isEmpty ? "" : " (\(summary))"): running…\n"
        case .pulling(let title, let summary, let source): return "  \(title)\(summary.isEmpty ? "" : " (\(summary))"): pulling from \(source)…\n"
        case .layer(let title, let summary, let state):
            // `  apt    12 packages    built in 23.4s`
            let name = title.padding(toLength: max(title.count, 12), withPad: " ", startingAt: 0)
            let what = summary.isEmpty ? "" : summary.padding(toLength: max(summary.count, 20), withPad: " ", startingAt: 0) + " "
            let said = switch state {
            case .cached: "cached"
            case .pulled(let elapsed): "pulled in \(Units.seconds(elapsed))"
            case .built(let elapsed): "built in \(Units.seconds(elapsed))"
            case .builtByAnother: "built by another devenv"
            }
            return "  \(name) \(what)\(said)\n"
        case .stepLine(let line), .resolveLine(let line): return "    │ \(line)\n"
        case .pull: return ""
        }
    }
}
