import Foundation
import ImageStore
import Manifest
import TestSupport
import Testing
@testable import Environments

@Suite struct StatusReportTests {
    func report(manifest: String?) throws -> (StatusReport, Manifest?, TemporaryDirectory) {
        let scratch = try TemporaryDirectory("status-test")
        let directory = try scratch.directory("web")
        if let manifest { try scratch.file("web/.devenv/devenv.toml", manifest) }
        let (report, loaded, layers) = try StatusReport.make(project: Project(directory: directory, workingDirectory: directory),
                                                             store: try StoreLocation(explicit: scratch.path + "/store"))
        #expect(layers.isEmpty)
        return (report, loaded, scratch)
    }

    @Test func withoutAManifestTheNextStepIsInit() throws {
        let (report, manifest, _) = try report(manifest: nil)
        #expect(!report.ready)
        #expect(report.next == "devenv init")
        #expect(manifest == nil)
        #expect(report.manifestError?.contains("fix: create one with `devenv init`") == true)
    }

    @Test func aBrokenManifestIsNamedAtItsLineAndNothingElseIsLookedAt() throws {
        let (report, _, _) = try report(manifest: "name = \"web\"\n[base]\nimage = 42\n")
        #expect(!report.ready)
        #expect(report.next == "fix the manifest")
        #expect(report.manifestError?.contains("devenv.toml:3:") == true, "\(report.manifestError ?? "")")
        #expect(report.lock == nil && report.base == nil)
    }

    @Test func withoutALockTheNextStepIsLock() throws {
        let (report, manifest, _) = try report(manifest: "name = \"web\"\n[base]\nimage = \"debian:bookworm\"\n")
        #expect(manifest?.name == "web")
        #expect(report.name == "web")
        #expect(report.lock?.state == "missing")
        #expect(report.next == "devenv lock")
        #expect(!report.ready)
    }
}
