import Testing
@testable import Environments

@Suite struct BuildProgressTests {
    func said(quiet: Bool, verbose: Bool) -> [String] {
        let log = EventLog()
        let progress = BuildProgress(quiet: quiet, verbose: verbose) { log.append($0) }
        progress.heading("Building web (3 layers)")
        progress.pulling("pip", "1 distribution", from: "registry.example.com/team/web:latest")
        progress.starting("apt", "2 packages")
        progress.stepLine?("Setting up jq")
        progress.resolveLine?("Inst jq")
        progress.layer("apt", "2 packages", .built(.seconds(2)))
        progress.pull(.finished)
        return log.all.map {
            switch $0 {
            case .heading(let text): "heading \(text)"
            case .starting(let title, _): "starting \(title)"
            case .pulling(let title, _, let source): "pulling \(title) from \(source)"
            case .layer(let title, _, let state): "layer \(title) \(state)"
            case .stepLine(let line): "step \(line)"
            case .resolveLine(let line): "resolve \(line)"
            case .pull: "pull"
            }
        }
    }

    @Test func everyEventInOrderWithResolutionOutputOnlyWhenVerbose() {
        #expect(said(quiet: false, verbose: false)
            == ["heading Building web (3 layers)", "pulling pip from registry.example.com/team/web:latest", "starting apt", "step Setting up jq", "layer apt built(2.0 seconds)", "pull"])
        #expect(said(quiet: false, verbose: true)
            == ["heading Building web (3 layers)", "pulling pip from registry.example.com/team/web:latest", "starting apt", "step Setting up jq", "resolve Inst jq", "layer apt built(2.0 seconds)", "pull"])
    }

    @Test func quietReportsNothingEvenWhenVerbose() {
        #expect(said(quiet: true, verbose: true).isEmpty)
        #expect(BuildProgress(quiet: true, verbose: true) { _ in }.stepLine == nil, "quiet still streams step output")
    }
}
