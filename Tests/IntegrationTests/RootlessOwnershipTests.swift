import Foundation
import TestSupport
import Testing

/// Owners inside a rootless sandbox (docs/architecture.md, "Id mapping"): with /etc/subuid ranges
/// and newuidmap, layers are unpacked in the sandbox's id mapping, so the image's root-owned files
/// appear root-owned and its 1000-owned files 1000-owned. devenv-sub's own uid is not 1000
/// (scripts/test creates the test users from 1100 up), so keep-id leaves 1000 to a subordinate
/// id: the image's 1000 stays 1000 inside. Without ranges every file is the user's, as the
/// single-id mapping can show nothing else.
@Suite(.serialized) struct RootlessOwnershipTests {
    static let paths = ["/bin/busybox", "/etc/passwd", "/home/user/owned-file"]

    @Test func withSubordinateIDsTheImagesOwnersAppearInside() throws {
        let mapping = try KeepIDMapping(user: "devenv-sub")
        try #require(mapping.uid != 1000 && mapping.gid != 1000, "keep-id would show the user's own id as 1000")
        let output = try stat(as: "devenv-sub")
        #expect(output == "0:0 /bin/busybox\n0:0 /etc/passwd\n1000:1000 /home/user/owned-file\n")
    }

    /// `--root` maps the user's own id to root, so its layers are unpacked in that mapping.
    @Test func asRootTheImagesOwnersAppearToo() throws {
        let output = try stat(as: "devenv-sub", options: ["--root"])
        #expect(output == "0:0 /bin/busybox\n0:0 /etc/passwd\n1000:1000 /home/user/owned-file\n")
    }

    /// A failed unpack leaves files owned by subordinate ids, which the user cannot delete: the
    /// unpacking child removes them itself, so the pull fails cleanly and tmp/ keeps no garbage.
    @Test func aFailedUnpackLeavesNothingBehind() throws {
        let temp = try TemporaryDirectory("rootless-evil")
        let ref = try MaliciousLayerTests().pushHostileImage(kind: "symlink", victim: temp.path + "/host", temp: temp)
        let store = temp.path + "/store"
        try FileManager.default.createDirectory(atPath: store, withIntermediateDirectories: true)
        try #require(try Shell.run("chown", ["devenv-sub:devenv-sub", store]).status == 0)
        let pull = try Shell.run("runuser", ["-u", "devenv-sub", "--", try TestEnvironment.binary(), "pull", "--store", store, ref])
        #expect(pull.status == 1, "\(pull.output)")
        #expect(pull.stderr.contains("cannot unpack layer") && pull.stderr.contains("layer entry \"evil/pwned\""), "\(pull.stderr)")
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: store + "/tmp").filter { $0.hasPrefix("layer-") && !$0.hasSuffix(".lock") }
        #expect(leftovers.isEmpty, "\(leftovers)")
    }

    @Test func withoutSubordinateIDsEveryFileIsTheUsers() throws {
        let uid = try Shell.run("id", ["-u", "devenv-nosub"]).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        let gid = try Shell.run("id", ["-g", "devenv-nosub"]).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        let output = try stat(as: "devenv-nosub")
        #expect(output == Self.paths.map { "\(uid):\(gid) \($0)\n" }.joined())
    }

    /// Pulls the layered fixture into a fresh store of `user` and stats `paths` in a sandbox.
    private func stat(as user: String, options: [String] = []) throws -> String {
        let temp = try TemporaryDirectory("rootless-owners")
        let store = temp.path + "/store", project = temp.path + "/project"
        for directory in [store, project] {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        }
        let chown = try Shell.run("chown", ["-R", "\(user):\(user)", store, project])
        try #require(chown.status == 0, "the test user \(user) is missing (scripts/test creates it): \(chown.output)")

        let image = "\(try TestEnvironment.registry())/fixtures/layered:latest"
        let result = try Shell.run("runuser", [
            "-u", user, "--", "env", "-i", "-C", project, "HOME=/home/\(user)", "PATH=/usr/local/bin:/usr/bin:/bin",
            try TestEnvironment.binary(), "run", "--store", store, "-q", "--image", image] + options + ["--",
            "stat", "-c", "%u:%g %n",
        ] + Self.paths)
        try #require(result.status == 0, "\(result.output)")
        return result.stdout
    }
}
