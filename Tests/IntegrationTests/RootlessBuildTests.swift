import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// The build as each kind of user runs it: `scripts/test` reruns this suite as a user with
/// subordinate ids (keep-id mapping: layers owned by subordinate ids) and one without (single-id:
/// everything the user's). Root-owned files of the built layers appear root-owned inside
/// wherever the mapping can show it, and `gc` can delete what a rootless build made.
@Suite(.buildScope, .serialized, .tags(.rootless)) struct RootlessBuildTests {
    @Test func aProjectBuildsRunsAndIsCollected() throws {
        let project = try BuildProject(try BuildProject.standardManifest(name: "rootless"), store: try BuildScope.current())
        let built = try project.devenv("build")
        try #require(built.status == 0, "devenv build as uid \(getuid()): \(built.output)")
        let report = layerReport(built.stderr)
        // Without a lock the build resolves first, which builds the apt layer pip resolves in.
        #expect(report["apt"] == "cached" && report["pip"] == "built" && report["setup marker"] == "built", "\(built.stderr)")

        let inside = try project.sh("jq --version; python -c 'import six; print(six.__version__)'; stat -c '%u:%g' /opt/marker /usr/bin/jq; id -u")
        #expect(inside.status == 0, "\(inside.output)")
        let lines = inside.stdout.split(separator: "\n").map(String.init)
        #expect(lines.first?.hasPrefix("jq-1.6") == true, "\(inside.output)")
        #expect(lines.dropFirst().first == "1.16.0")
        let singleID = !Self.hasSubordinateIDs()
        // Without subordinate ids every file is the user's, and shows as theirs.
        let owner = singleID && getuid() != 0 ? "\(getuid()):\(getgid())" : "0:0"
        #expect(Array(lines.dropFirst(2).prefix(2)) == [owner, owner], "\(inside.output)")
        #expect(lines.last == "\(getuid())")

        // The built layers (subordinate-owned when rootless) can be collected once unreferenced.
        let oldSetup = try #require(try project.layerKeys()["setup marker"])
        try project.write(try BuildProject.standardManifest(name: "rootless", setup: "echo other > /opt/marker"))
        try #require(try project.devenv("build", ["-q"]).status == 0)
        let dryRun = try Shell.devenv(["gc", "--dry-run", "--grace", "0"], store: project.store)
        #expect(dryRun.status == 0, "\(dryRun.output)")
        #expect(dryRun.stdout.contains("Would remove") && dryRun.stdout.contains("1 layers"), "\(dryRun.output)")
        #expect(Self.layers(project.store).contains(oldSetup), "a dry run deletes nothing")
        let collected = try Shell.devenv(["gc", "--grace", "0"], store: project.store)
        #expect(collected.status == 0, "\(collected.output)")
        #expect(!Self.layers(project.store).contains(oldSetup), "\(collected.output)")
        #expect(try project.sh("cat /opt/marker").stdout == "other\n", "the environment still runs after gc")
        #expect(try project.status()["ready"] as? Bool == true)
    }

    static func layers(_ store: String) -> Set<String> {
        Set(((try? FileManager.default.contentsOfDirectory(atPath: store + "/layers")) ?? []).filter { !$0.hasPrefix(".") })
    }

    static func hasSubordinateIDs() -> Bool {
        guard let name = getpwuid(getuid()).map({ String(cString: $0.pointee.pw_name) }),
              let text = try? String(contentsOfFile: "/etc/subuid", encoding: .utf8) else { return false }
        return text.split(separator: "\n").contains { $0.hasPrefix(name + ":") }
    }
}
