import Foundation
import TestSupport
import Testing

/// `devenv pull` as an unprivileged user (the way most people run it): whiteouts still become
/// overlay whiteouts and the tree matches umoci's. devenv-sub has /etc/subuid ranges, so the
/// owners are umoci's as the sandbox maps them to the host; only `security.capability` (stored
/// for the namespace's root, not the host's) differs.
@Suite(.serialized) struct RootlessPullTests {
    static let user = "devenv-sub"

    @Test func anUnprivilegedPullUnpacksTheSameTreeWithMappedOwners() throws {
        let temp = try TemporaryDirectory("rootless")
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
        let mapping = try KeepIDMapping(user: Self.user)
        theirs.mapOwners(mapping)
        ours.ignoreCapabilities()
        theirs.ignoreCapabilities()
        let differences = ours.differences(from: theirs)
        #expect(differences.isEmpty, "rootless overlay differs from umoci unpack with mapped owners:\n\(differences.joined(separator: "\n"))")
    }
}

/// The sandbox's keep-id mapping of a user with subordinate ranges (IDMapping.allocate): the
/// user's own ids keep their numbers, inside ids 0, 1, 2… around them take the ranges in order.
struct KeepIDMapping {
    let uid: UInt32, gid: UInt32
    let subuidStart: UInt32, subgidStart: UInt32

    init(user: String) throws {
        func id(_ flag: String) throws -> UInt32 {
            try #require(UInt32(try Shell.run("id", [flag, user]).stdout.trimmingCharacters(in: .whitespacesAndNewlines)))
        }
        // scripts/test gives the user exactly one range in each file.
        func start(_ file: String) throws -> UInt32 {
            let line = try String(contentsOfFile: file, encoding: .utf8).split(separator: "\n").first { $0.hasPrefix(user + ":") }
            let fields = try #require(line, "\(user) has no range in \(file)").split(separator: ":")
            return try #require(UInt32(fields[1]))
        }
        uid = try id("-u")
        gid = try id("-g")
        subuidStart = try start("/etc/subuid")
        subgidStart = try start("/etc/subgid")
    }

    func hostUID(_ inside: UInt32) -> UInt32 { Self.host(inside, own: uid, start: subuidStart) }
    func hostGID(_ inside: UInt32) -> UInt32 { Self.host(inside, own: gid, start: subgidStart) }

    private static func host(_ inside: UInt32, own: UInt32, start: UInt32) -> UInt32 {
        if inside == own { return own }
        return start + (inside < own ? inside : inside - 1)
    }
}

extension TreeSnapshot {
    mutating func mapOwners(_ mapping: KeepIDMapping) {
        for (key, entry) in entries {
            entries[key]?.uid = mapping.hostUID(entry.uid)
            entries[key]?.gid = mapping.hostGID(entry.gid)
        }
    }

    mutating func ignoreCapabilities() {
        for key in entries.keys { entries[key]?.xattrs["security.capability"] = nil }
    }
}
