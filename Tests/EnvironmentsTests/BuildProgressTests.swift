import Testing
@testable import Environments

@Suite struct BuildProgressTests {
    func said(quiet: Bool, verbose: Bool) -> [String] {
        let log = EventLog()
        let progress = BuildProgress(quiet: quiet, verbose: verbose) { log.append($0) }
        progress.heading("Building web (3 layers)")
        progress.starting("apt", "2 packages")
        progress.stepLine?("Setting up jq")
        progress.resolveLine?("Inst jq")
        progress.layer("apt", "2 packages", .built(.seconds(2)))
        progress.pull(.finished)
        return log.all.map {
            switch $0 {
            case .heading(let text): "heading \(text)"
            case .starting(let title, _): "starting \(title)"
            case .layer(let title, _, let state): "layer \(title) \(state)"
            case .stepLine(let line): "step \(line)"
            case .resolveLine(let line): "resolve \(line)"
            case .pull: "pull"
            }
        }
    }

    @Test func everyEventInOrderWithResolutionOutputOnlyWhenVerbose() {
        #expect(said(quiet: false, verbose: false)
            == ["heading Building web (3 layers)", "starting apt", "step Setting up jq", "layer apt built(2.0 seconds)", "pull"])
        #expect(said(quiet: false, verbose: true)
            == ["heading Building web (3 layers)", "starting apt", "step Setting up jq", "resolve Inst jq", "layer apt built(2.0 seconds)", "pull"])
    }

    @Test func quietReportsNothingEvenWhenVerbose() {
        #expect(said(quiet: true, verbose: true).isEmpty)
        #expect(BuildProgress(quiet: true, verbose: true) { _ in }.stepLine == nil, "quiet still streams step output")
    }
}
