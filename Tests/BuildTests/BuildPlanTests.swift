import Manifest
import Testing
@testable import Build

struct BuildPlanTests {
    func manifest(pip: [String] = ["six==1.16.0"], setup: [String] = ["echo one"]) throws -> Manifest {
        var text = "[base]\nimage = \"debian:bookworm\"\n[packages]\napt = [\"jq\"]\npip = [\(pip.map { "\"\($0)\"" }.joined(separator: ","))]\n[env]\nA = \"1\"\n"
        for (index, run) in setup.enumerated() { text += "[[setup]]\nname = \"s\(index)\"\nrun = \"\(run)\"\n" }
        return try Manifest.parse(text, file: "devenv.toml", home: "/home/u")
    }

    func lock(six: String = "1.16.0", jq: String = "1.6-2.1") -> Lock {
        Lock(base: Lock.Base(image: "debian:bookworm", digest: "sha256:" + String(repeating: "0", count: 64), platform: "linux/amd64"),
             apt: Lock.Apt(requested: ["jq", "python3-venv"], packages: [Lock.AptPackage(name: "jq", version: jq, architecture: "amd64")]),
             pip: Lock.Pip(requested: ["six==\(six)"], python: "3.11.2",
                           distributions: [Lock.PipDistribution(name: "six", version: six, sha256: [String(repeating: "c", count: 64)])]))
    }

    func keys(_ plan: BuildPlan) -> [String] { plan.steps.map(\.key) }

    @Test func stepsComeInOrderOnTheBaseLayers() throws {
        let plan = BuildPlan(manifest: try manifest(setup: ["echo one", "echo two"]), lock: lock(), baseLayers: ["base1", "base2"], singleID: false)
        #expect(plan.steps.map(\.title) == ["apt", "pip", "setup s0", "setup s1"])
        #expect(plan.layers.prefix(2) == ["base1", "base2"])
        #expect(plan.pathPrefix == ["/opt/devenv/venv/bin"])
        #expect(plan.environment == ["VIRTUAL_ENV=/opt/devenv/venv", "A=1"])
        #expect(plan.steps[0].environment.contains("DEVENV_APT=jq=1.6-2.1"))
        #expect(plan.steps[1].environment.first { $0.hasPrefix("DEVENV_REQUIREMENTS=") }?.contains("six==1.16.0 --hash=sha256:ccc") == true)
    }

    @Test func aPipPinChangeChangesThePipLayerAndThoseAboveOnly() throws {
        let before = keys(BuildPlan(manifest: try manifest(), lock: lock(), baseLayers: ["base"], singleID: false))
        let after = keys(BuildPlan(manifest: try manifest(pip: ["six==1.15.0"]), lock: lock(six: "1.15.0"), baseLayers: ["base"], singleID: false))
        #expect(before[0] == after[0])
        #expect(before[1] != after[1])
        #expect(before[2] != after[2])
    }

    @Test func anAptChangeOrANewBaseChangesEverything() throws {
        let before = keys(BuildPlan(manifest: try manifest(), lock: lock(), baseLayers: ["base"], singleID: false))
        let apt = keys(BuildPlan(manifest: try manifest(), lock: lock(jq: "1.7-1"), baseLayers: ["base"], singleID: false))
        let base = keys(BuildPlan(manifest: try manifest(), lock: lock(), baseLayers: ["other"], singleID: false))
        #expect(zip(before, apt).allSatisfy { $0 != $1 })
        #expect(zip(before, base).allSatisfy { $0 != $1 })
    }

    @Test func aSetupChangeChangesOnlyItsLayer() throws {
        let before = keys(BuildPlan(manifest: try manifest(), lock: lock(), baseLayers: ["base"], singleID: false))
        let after = keys(BuildPlan(manifest: try manifest(setup: ["echo changed"]), lock: lock(), baseLayers: ["base"], singleID: false))
        #expect(before.prefix(2) == after.prefix(2))
        #expect(before[2] != after[2])
    }

    @Test func aStepsFilesKeyItsLayerByContentAndOnlyItsLayerAndThoseAbove() throws {
        var manifest = try manifest(setup: ["npm ci", "echo after"])
        manifest.setup[0].files = [Manifest.FileReference(path: "package-lock.json", position: SourcePosition(line: 1, column: 1))]
        manifest.inputFiles = [Manifest.InputFile(path: "package-lock.json", digest: String(repeating: "a", count: 64))]
        let without = keys(BuildPlan(manifest: try self.manifest(setup: ["npm ci", "echo after"]), lock: lock(), baseLayers: ["base"], singleID: false))
        let plan = BuildPlan(manifest: manifest, lock: lock(), baseLayers: ["base"], singleID: false)
        #expect(plan.steps[2].files == manifest.inputFiles)
        #expect(plan.steps[2].environment.contains("DEVENV_FILES=/devenv/files"))
        #expect(plan.steps[3].files.isEmpty)
        manifest.inputFiles[0].digest = String(repeating: "b", count: 64)
        let edited = keys(BuildPlan(manifest: manifest, lock: lock(), baseLayers: ["base"], singleID: false))
        #expect(without.prefix(2) == keys(plan).prefix(2))
        #expect(keys(plan).prefix(2) == edited.prefix(2))
        #expect(without[2] != keys(plan)[2] && keys(plan)[2] != edited[2])
        #expect(keys(plan)[3] != edited[3])
    }

    @Test func withoutPackagesOnlySetupStepsRun() throws {
        let manifest = try Manifest.parse("[base]\nimage = \"debian\"\n[[setup]]\nname = \"x\"\nrun = \"true\"\n", file: "f", home: "/h")
        let plan = BuildPlan(manifest: manifest, lock: Lock(base: lock().base), baseLayers: ["base"], singleID: false)
        #expect(plan.steps.map(\.title) == ["setup x"])
        #expect(plan.pathPrefix.isEmpty)
    }

    @Test func singleIDBuildsTellAptToFetchAsRoot() throws {
        let plan = BuildPlan(manifest: try manifest(), lock: lock(), baseLayers: ["base"], singleID: true)
        #expect(plan.steps[0].command.joined(separator: " ").contains("APT::Sandbox::User=root"))
    }
}
