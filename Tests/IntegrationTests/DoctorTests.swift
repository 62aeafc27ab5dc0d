import Foundation
import TestSupport
import Testing

/// `devenv doctor` on the test machine, which runs everything devenv needs: as root and as an
/// unprivileged user with subordinate ids it reports no failure and exits 0; a user without
/// ranges gets the single-id warning with its fix; a project's manifest, tools and registry are
/// checked.
@Suite struct DoctorTests {
    static let hostChecks = ["os", "kernel", "user namespaces", "overlayfs", "seccomp", "id mapping", "newuidmap", "build network", "store", "git"]

    func report(_ result: Shell.Result) throws -> (ok: Bool, checks: [String: [String: Any]], names: [String]) {
        let object = try #require(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any], "\(result.output)")
        let checks = try #require(object["checks"] as? [[String: Any]])
        let names = checks.compactMap { $0["name"] as? String }
        return (object["ok"] as? Bool ?? false, Dictionary(uniqueKeysWithValues: zip(names, checks)), names)
    }

    func status(_ checks: [String: [String: Any]], _ name: String) -> String? { checks[name]?["status"] as? String }

    @Test func asRootEverythingWorks() throws {
        let store = try TemporaryDirectory("doctor-store")
        let outside = try TemporaryDirectory("doctor-cwd")
        let text = try Shell.run(try TestEnvironment.binary(), ["doctor", "--store", store.path, "-C", outside.path])
        #expect(text.status == 0, "\(text.output)")
        for (name, detail) in [("user namespaces", "created one with the root id mapping"), ("overlayfs", "mounted one with userxattr in a user namespace"),
                               ("seccomp", "libseccomp compiled the sandbox's filter"), ("id mapping", "root: sandboxes are root of host ids")] {
            #expect(text.stdout.split(separator: "\n").contains { $0.hasPrefix("ok") && $0.contains(name) && $0.contains(detail) }, "\(name): \(text.stdout)")
        }
        #expect(text.stdout.hasSuffix("devenv can run environments on this machine\n"), "\(text.stdout)")

        let json = try Shell.run(try TestEnvironment.binary(), ["doctor", "--json", "--store", store.path, "-C", outside.path])
        #expect(json.status == 0, "\(json.output)")
        let parsed = try report(json)
        #expect(parsed.ok)
        #expect(Array(parsed.names.prefix(Self.hostChecks.count)) == Self.hostChecks)
        for name in Self.hostChecks { #expect(status(parsed.checks, name) == "ok", "\(name): \(parsed.checks[name] ?? [:])") }
        #expect(status(parsed.checks, "manifest") == "skip")
        #expect((parsed.checks["store"]?["detail"] as? String)?.hasPrefix(store.path + ": ") == true)
    }

    @Test func aUserWithSubordinateIDsIsFineAndOneWithoutIsWarned() throws {
        for (user, mode, expected) in [("devenv-sub", "subordinate", "ok"), ("devenv-nosub", "single", "warn")] {
            let temp = try TemporaryDirectory("doctor-\(user)")
            _ = try Shell.run("chown", [user, temp.path])
            let result = try Shell.run("runuser", ["-u", user, "--", try TestEnvironment.binary(), "doctor", "--json", "--store", temp.path + "/store", "-C", temp.path])
            #expect(result.status == 0, "\(user): \(result.output)")
            let parsed = try report(result)
            #expect(status(parsed.checks, "user namespaces") == "ok", "\(user): \(parsed.checks["user namespaces"] ?? [:])")
            #expect(status(parsed.checks, "overlayfs") == "ok", "\(user): \(parsed.checks["overlayfs"] ?? [:])")
            #expect(status(parsed.checks, "id mapping") == expected, "\(user): \(parsed.checks["id mapping"] ?? [:])")
            #expect((parsed.checks["user namespaces"]?["detail"] as? String)?.contains(mode) == true)
            if expected == "warn" {
                #expect((parsed.checks["id mapping"]?["fix"] as? String)?.contains("usermod --add-subuids") == true)
            }
        }
    }

    @Test func aProjectsManifestAndRegistryAreChecked() throws {
        let project = try TemporaryDirectory("doctor-project")
        let store = try TemporaryDirectory("doctor-store")
        try FileManager.default.createDirectory(atPath: project.path + "/.devenv", withIntermediateDirectories: true)
        func doctor(_ manifest: String) throws -> Shell.Result {
            try manifest.write(toFile: project.path + "/.devenv/devenv.toml", atomically: true, encoding: .utf8)
            return try Shell.run(try TestEnvironment.binary(), ["doctor", "--json", "--store", store.path, "-C", project.path])
        }
        let registry = try TestEnvironment.registry()

        let good = try report(try doctor("[base]\nimage = \"\(registry)/fixtures/debian:bookworm\"\n"))
        #expect(good.ok)
        #expect(status(good.checks, "manifest") == "ok")
        #expect((good.checks["registry"]?["detail"] as? String)?.hasPrefix("\(registry) answers") == true, "\(good.checks["registry"] ?? [:])")

        let missingImage = try doctor("[base]\nimage = \"\(registry)/fixtures/absent:latest\"\n")
        #expect(missingImage.status == 1)
        #expect(status(try report(missingImage).checks, "registry") == "fail")

        let port = try CloneTests.GitDaemon.freePort()
        let unreachable = try report(try doctor("[base]\nimage = \"127.0.0.1:\(port)/debian:bookworm\"\n"))
        #expect(status(unreachable.checks, "registry") == "fail")
        #expect(unreachable.checks["registry"]?["fix"] as? String != nil)

        let invalid = try doctor("[base]\nimgae = \"debian\"\n")
        #expect(invalid.status == 1)
        let invalidReport = try report(invalid)
        #expect(status(invalidReport.checks, "manifest") == "fail")
        #expect((invalidReport.checks["manifest"]?["detail"] as? String)?.contains("unknown key \"imgae\"") == true, "\(invalidReport.checks["manifest"] ?? [:])")

        let missingMount = try doctor("[base]\nimage = \"debian\"\n[mounts]\n\"/devenv-absent-mount\" = \"ro\"\n")
        #expect(missingMount.status == 1)
        let missingMountReport = try report(missingMount)
        #expect((missingMountReport.checks["manifest"]?["detail"] as? String)?.contains("devenv.toml:4:1: mount \"/devenv-absent-mount\"") == true,
                "\(missingMountReport.checks["manifest"] ?? [:])")
        #expect(missingMountReport.checks["manifest"]?["fix"] as? String == "create it, or remove the line from [mounts]")

        let bootstrap = try report(try doctor("[base]\nbootstrap = \"debian:bookworm\"\n"))
        #expect(status(bootstrap.checks, "helper tools") == "ok", "\(bootstrap.checks["helper tools"] ?? [:])")
        #expect(status(bootstrap.checks, "registry") == "skip")
    }
}
