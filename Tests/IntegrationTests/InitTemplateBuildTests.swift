import Foundation
import TestSupport
import Testing

/// Every template, initialised in a fresh repository by an unprivileged user (as most people run
/// devenv, and as PostgreSQL insists: it refuses to run as root), built, and proved by its own
/// check command inside the environment. The base is the test registry's Debian; packages come
/// from the Debian mirror and PyPI.
@Suite(.serialized) struct InitTemplateBuildTests {
    static let user = "devenv-sub"

    @Test(arguments: InitTests.names) func theTemplateBuildsAndItsCheckPasses(_ name: String) throws {
        let temp = try TemporaryDirectory("template-\(name)")
        let project = temp.path + "/project", store = temp.path + "/store"
        try FileManager.default.createDirectory(atPath: project, withIntermediateDirectories: true)
        let chown = try Shell.run("chown", ["-R", "\(Self.user):\(Self.user)", temp.path])
        try #require(chown.status == 0, "the test user \(Self.user) is missing (scripts/test creates it): \(chown.output)")
        let devenv = try TestEnvironment.binary()
        func asUser(_ arguments: [String]) throws -> Shell.Result {
            try Shell.run("runuser", ["-u", Self.user, "--", "/usr/bin/env", "-C", project] + arguments)
        }

        try #require(try asUser(["git", "init", "-q"]).status == 0)
        let initialized = try asUser([devenv, "init", "-q", "--template", name, "--base", "\(try TestEnvironment.registry())/fixtures/debian:bookworm"])
        try #require(initialized.status == 0, "\(initialized.output)")
        let list = try asUser([devenv, "init", "--list", "--json"])
        let entries = try #require(try JSONSerialization.jsonObject(with: Data(list.stdout.utf8)) as? [[String: Any]])
        let entry = try #require(entries.first { $0["name"] as? String == name })
        let check = try #require(entry["check"] as? String)

        let build = try asUser([devenv, "build", "--store", store])
        try #require(build.status == 0, "devenv build of the \(name) template: \(build.output)")
        // A template with services is checked in its running environment, as init says.
        if entry["services"] as? Bool == true {
            let up = try asUser([devenv, "up", "-d", "--store", store])
            try #require(up.status == 0, "devenv up of the \(name) template: \(up.output)")
        }
        defer { if entry["services"] as? Bool == true { _ = try? asUser([devenv, "down", "--volumes", "--store", store]) } }
        let run = try asUser([devenv, "run", "-q", "--store", store, "--", "sh", "-c", check])
        #expect(run.status == 0, "\(name): \(check): \(run.output)")
        #expect(run.stdout.hasPrefix("hello from "), "\(name): \(run.output)")
    }
}
