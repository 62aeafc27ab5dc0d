import ArgumentParser
import Build
import Foundation
import Manifest
import OCI
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

    struct Report: Encodable {
        struct LockState: Encodable {
            var path: String
            /// "fresh", "stale" or "missing".
            var state: String
            var differences: [String]
        }
        struct BaseState: Encodable {
            var image: String?
            var bootstrap: String?
            var digest: String?
            /// "unpacked", "missing" or "unknown" (no lock).
            var state: String
        }
        struct LayerState: Encodable {
            var step: String
            var contents: String
            var key: String
            /// "built" or "missing".
            var state: String
        }
        var project: String
        var name: String
        var manifest: String
        var manifestError: String?
        /// Whether what the manifest reaches outside the repository is approved (`devenv trust`).
        var trust: ProjectTrust.State?
        var lock: LockState?
        var base: BaseState?
        var layers: [LayerState]
        var ready: Bool
        var next: String?
    }

    func run() async throws {
        let started = LaunchRecord.startingNow()
        try global.enterDirectory()
        let project = try Project.discover()
        let store = try global.store()
        var manifest: Manifest?
        var layers: [String] = []
        let report = try makeReport(project: project, store: store, manifest: &manifest, layers: &layers)
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

    /// The report; `manifest` and `layers` (every layer directory of a ready environment) are
    /// what it was made from.
    private func makeReport(project: Project, store: StoreLocation, manifest loaded: inout Manifest?, layers: inout [String]) throws -> Report {
        var report = Report(project: project.directory, name: project.environmentName(nil), manifest: project.manifestPath,
                            layers: [], ready: false)
        let manifest: Manifest
        do { manifest = try project.manifest(home: HostUser.current().home) } catch let error as DevenvError {
            report.manifestError = error.description
            report.next = FileManager.default.fileExists(atPath: project.manifestPath) ? "fix the manifest" : "devenv init"
            return report
        }
        loaded = manifest
        report.name = project.environmentName(manifest)
        let trust = try ProjectTrust(project: project, manifest: manifest, store: store).state
        report.trust = trust
        guard let lock = try? project.lock() else {
            let exists = FileManager.default.fileExists(atPath: project.lockPath)
            report.lock = Report.LockState(path: project.lockPath, state: exists ? "unreadable" : "missing", differences: [])
            report.next = exists ? "devenv lock --update" : "devenv lock"
            return report
        }
        let differences = lock.differences(from: manifest)
        report.lock = Report.LockState(path: project.lockPath, state: differences.isEmpty ? "fresh" : "stale", differences: differences)
        let layout = LayerLayout.forInvoker(asRoot: false)
        let image = try EnvironmentBuilder.localBase(lock.base, store: store, layout: layout)
        report.base = Report.BaseState(image: lock.base.image, bootstrap: lock.base.bootstrap, digest: lock.base.digest,
                                       state: image == nil ? "missing" : "unpacked")
        if let image {
            let plan = BuildPlan(manifest: manifest, lock: lock, baseLayers: image.layers,
                                 singleID: IDMapping.forBuild(asRoot: false).mode == .single)
            let layerStore = store.layerStore()
            layers = plan.layers
            report.layers = plan.steps.map {
                Report.LayerState(step: $0.title, contents: $0.summary, key: $0.key, state: layerStore.contains($0.key) ? "built" : "missing")
            }
        }
        report.ready = differences.isEmpty && image != nil && report.layers.allSatisfy { $0.state == "built" }
            && (trust == .notNeeded || trust == .approved)
        if trust == .notApproved || trust == .changed {
            report.next = "devenv trust (after reading the manifest)"
        } else if !differences.isEmpty {
            report.next = "devenv lock"
        } else if !report.ready {
            report.next = "devenv build"
        }
        return report
    }

    private func render(_ report: Report) -> String {
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
