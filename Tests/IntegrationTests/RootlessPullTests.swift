import Foundation
import Testing

/// `devenv pull` as an unprivileged user (the way most people run it): whiteouts still become
/// overlay whiteouts and the tree matches umoci's, except what only root can reproduce (owners
/// other than the user, and `security.capability`).
@Suite(.serialized) struct RootlessPullTests {
    static let user = "devenv-sub"

    @Test func anUnprivilegedPullUnpacksTheSameTreeButOwners() throws {
        let temp = try TempDir("rootless")
        let store = temp.path + "/store"
        try FileManager.default.createDirectory(atPath: store, withIntermediateDirectories: true)
        let chown = try Shell.run("chown", ["\(Self.user):\(Self.user)", store])
        try #require(chown.status == 0, "the test user \(Self.user) is missing (scripts/test creates it): \(chown.output)")

        let ref = "\(try TestEnvironment.registry())/fixtures/layered:latest"
        let pull = try Shell.run("runuser", ["-u", Self.user, "--", try TestEnvironment.binary(), "pull", "--store", store, ref])
        try #require(pull.status == 0, "\(pull.output)")

        let layers = try StoreInspector(store: store).layerDirectories(of: ref)
        let overlay = try Overlay(layers: layers, in: temp)
        defer { overlay.unmount() }
        var ours = try TreeSnapshot(overlay.mountpoint)
        var theirs = try TreeSnapshot(try TestEnvironment.fixtures() + "/ref/layered/rootfs")
        let uid = try #require(UInt32(try Shell.run("id", ["-u", Self.user]).stdout.trimmingCharacters(in: .whitespacesAndNewlines)))
        #expect(ours.entries.values.allSatisfy { $0.uid == uid }, "a rootless unpack created files owned by someone else")
        ours.ignoreOwnersAndCapabilities()
        theirs.ignoreOwnersAndCapabilities()
        let differences = ours.differences(from: theirs)
        #expect(differences.isEmpty, "rootless overlay differs from umoci unpack:\n\(differences.joined(separator: "\n"))")
    }
}

extension TreeSnapshot {
    mutating func ignoreOwnersAndCapabilities() {
        for key in entries.keys {
            entries[key]?.uid = 0
            entries[key]?.gid = 0
            entries[key]?.xattrs["security.capability"] = nil
        }
    }
}
