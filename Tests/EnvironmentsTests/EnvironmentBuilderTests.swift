import Foundation
import ImageStore
import Manifest
import TestSupport
import Testing
@testable import Environments

/// The build's decisions that need neither network nor sandbox: what `--locked` refuses, and that
/// a refusal writes nothing.
@Suite struct EnvironmentBuilderTests {
    struct Fixture {
        let scratch: TemporaryDirectory
        let project: Project
        let store: StoreLocation
        let manifest: Manifest
    }

    func project(_ manifest: String) throws -> Fixture {
        let scratch = try TemporaryDirectory("environments-test")
        let directory = try scratch.directory("web")
        try scratch.file("web/.devenv/devenv.toml", manifest)
        let project = Project(directory: directory, workingDirectory: directory)
        return Fixture(scratch: scratch, project: project, store: try StoreLocation(explicit: scratch.path + "/store"),
                       manifest: try project.manifest(home: scratch.path))
    }

    func builder(_ fixture: Fixture, events: EventLog) -> EnvironmentBuilder {
        var builder = EnvironmentBuilder(store: fixture.store, layout: .forInvoker(asRoot: false),
                                         output: BuildProgress(quiet: false, verbose: true) { events.append($0) })
        builder.locked = true
        return builder
    }

    @Test func lockedRefusesAMissingLockAndWritesNone() async throws {
        let fixture = try project("name = \"web\"\n[base]\nimage = \"debian:bookworm\"\n")
        let events = EventLog()
        let error = await #expect(throws: DevenvError.self) {
            _ = try await builder(fixture, events: events).ensure(project: fixture.project, manifest: fixture.manifest)
        }
        #expect(error?.kind == .user)
        #expect(error?.description.contains("\(fixture.project.lockPath) does not exist (--locked)") == true)
        #expect(error?.description.contains("fix: run `devenv lock`") == true)
        #expect(!FileManager.default.fileExists(atPath: fixture.project.lockPath))
        #expect(events.all.isEmpty, "a refused build reported progress: \(events.all)")
    }

    @Test func lockedRefusesAStaleLockNamingEachDifferenceAndLeavesItAlone() async throws {
        let fixture = try project("name = \"web\"\n[base]\nimage = \"debian:bookworm\"\n[packages]\napt = [\"jq\"]\n")
        let stale = Lock(base: Lock.Base(image: "debian:bookworm", digest: "sha256:" + String(repeating: "a", count: 64),
                                         platform: "linux/amd64"))
        try fixture.project.writeLock(stale)
        let before = try Data(contentsOf: URL(fileURLWithPath: fixture.project.lockPath))
        let error = await #expect(throws: DevenvError.self) {
            _ = try await builder(fixture, events: EventLog()).ensure(project: fixture.project, manifest: fixture.manifest)
        }
        let message = try #require(error?.description)
        #expect(message.contains("is out of date with \(fixture.project.manifestPath) (--locked)"))
        for difference in stale.differences(from: fixture.manifest) { #expect(message.contains("  - " + difference)) }
        #expect(!stale.differences(from: fixture.manifest).isEmpty)
        #expect(try Data(contentsOf: URL(fileURLWithPath: fixture.project.lockPath)) == before)
    }

    @Test func theEnvironmentDirectoryIsNamedForPeopleAndByPath() throws {
        let fixture = try project("name = \"my.web_app\"\n[base]\nimage = \"debian:bookworm\"\n")
        let directory = fixture.project.environmentDirectory(fixture.manifest, store: fixture.store)
        #expect(directory.hasPrefix(fixture.store.envs + "/my.web_app-"))
        let other = Project(directory: fixture.project.directory + "-copy", workingDirectory: fixture.project.directory + "-copy")
        #expect(other.environmentDirectory(fixture.manifest, store: fixture.store) != directory, "two checkouts share a home")
    }
}

/// Events a test's build reported, in order.
final class EventLog: @unchecked Sendable {
    private let lock = NSLock()
    private var events: [BuildEvent] = []

    func append(_ event: BuildEvent) {
        lock.lock()
        defer { lock.unlock() }
        events.append(event)
    }

    var all: [BuildEvent] {
        lock.lock()
        defer { lock.unlock() }
        return events
    }
}
