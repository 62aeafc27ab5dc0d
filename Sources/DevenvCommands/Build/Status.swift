import ArgumentParser
import Environments
import Foundation
import ImageStore
import Manifest
import Sandbox

struct Status: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show the project's manifest, whether its lock is up to date, and which layers are built.",
        discussion: """
            Reads only local files and the store: no network, nothing is built or changed. \
            Exits 0 when the environment is ready to enter, 1 when it needs `devenv lock`, \
            `devenv build` or `devenv trust` (or the manifest has an error).

            Examples:
              devenv status
              devenv status --json | jq .ready
            """
    )

    @OptionGroup var global: GlobalOptions

    @Flag(help: "Print a JSON object instead of text.")
    var json = false

    func run() async throws {
        let started = LaunchRecord.startingNow()
        try global.enterDirectory()
        let project = try Project.discover()
        let store = try global.store()
        let (report, manifest, layers) = try StatusReport.make(project: project, store: store)
        let text: String
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
            text = String(decoding: try encoder.encode(report), as: UTF8.self) + "\n"
        } else {
            text = render(report)
        }
        FileHandle.standardOutput.write(Data(text.utf8))
        guard report.ready else { throw ExitCode(1) }
        if let manifest {
            AnswerRecord(verb: "status", locked: false, json: json, quiet: global.quiet)
                .write(project: project, store: store, manifest: manifest, layers: layers, started: started, standardOutput: text, standardError: "")
        }
    }

    private func render(_ report: StatusReport) -> String {
        var lines: [String] = []
        lines.append("Project   \(report.project) (\(report.name))")
        if let error = report.manifestError {
            lines.append("Manifest  error:\n\(error)")
        } else {
            lines.append("Manifest  \(report.manifest): valid")
        }
        switch report.trust {
        case .approved: lines.append("Trust     what it reaches outside the repository is approved")
        case .notApproved: lines.append("Trust     it reaches outside the repository: not approved (devenv trust --show)")
        case .changed: lines.append("Trust     changed since you approved it (devenv trust --show)")
        case .notNeeded, nil: break
        }
        if let lock = report.lock {
            lines.append("Lock      \(lock.path): \(lock.state == "fresh" ? "up to date" : lock.state)")
            for difference in lock.differences { lines.append("            - \(difference)") }
        }
        if let base = report.base {
            let name = base.image.map { "\($0)@\(base.digest.map { String($0.dropFirst(7).prefix(12)) } ?? "?")" } ?? base.bootstrap.map { "bootstrap \($0)" } ?? "?"
            let verb = base.bootstrap == nil ? "pulled" : "built"
            lines.append("Base      \(name): \(base.state == "unpacked" ? verb : "not \(verb)")")
        }
        for layer in report.layers {
            let title = layer.step.padding(toLength: max(layer.step.count, 12), withPad: " ", startingAt: 0)
            let contents = layer.contents.padding(toLength: max(layer.contents.count, 18), withPad: " ", startingAt: 0)
            lines.append("  \(title) \(contents) \(layer.state)  \(layer.key.prefix(13))")
        }
        lines.append(report.ready ? "Ready: devenv enter" : "Not ready\(report.next.map { ": \($0.hasPrefix("devenv") ? "run " : "")\($0)" } ?? "")")
        return lines.joined(separator: "\n") + "\n"
    }
}
