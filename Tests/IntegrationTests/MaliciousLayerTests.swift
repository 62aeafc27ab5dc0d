import Foundation
import TestSupport
import Testing

/// Hand-made hostile layers pushed to the real registry and pulled with devenv: each pull fails
/// with an error naming the entry, and nothing beside the store changes. (The unpacker's own
/// tests cover every escape in detail; these prove the whole pull path stops them.)
@Suite(.serialized) struct MaliciousLayerTests {
    /// Python's tarfile writes exactly the entries we describe, including ones GNU tar refuses.
    static let makeTar = #"""
    import io, sys, tarfile
    out, victim, kind = sys.argv[1], sys.argv[2], sys.argv[3]
    def add(t, name, type=tarfile.REGTYPE, data=b"", link=""):
        info = tarfile.TarInfo(name); info.type = type; info.linkname = link; info.size = len(data); info.mode = 0o644
        t.addfile(info, io.BytesIO(data) if data else None)
    with tarfile.open(out, "w:gz") as t:
        add(t, "etc", tarfile.DIRTYPE)
        if kind == "dotdot":
            add(t, "../" * 12 + victim.lstrip("/") + "/pwned", data=b"x")
        elif kind == "symlink":
            add(t, "evil", tarfile.SYMTYPE, link=victim)
            add(t, "evil/pwned", data=b"x")
        elif kind == "hardlink":
            add(t, "link", tarfile.LNKTYPE, link=victim + "/canary")
        elif kind == "whiteout":
            add(t, "etc/.wh..", data=b"")
    """#

    func pushHostileImage(kind: String, victim: String, temp: TemporaryDirectory) throws -> String {
        let layout = temp.path + "/layout"
        let layer = temp.path + "/layer.tar.gz"
        let python = try Shell.run("python3", ["-c", Self.makeTar, layer, victim, kind])
        try #require(python.status == 0, "\(python.output)")
        // umoci makes a valid image around the raw layer; the layer itself goes in untouched.
        for args in [["init", "--layout", layout], ["new", "--image", layout + ":evil"],
                     ["raw", "add-layer", "--image", layout + ":evil", layer]] {
            let result = try Shell.run("umoci", args)
            try #require(result.status == 0, "umoci \(args): \(result.output)")
        }
        let ref = "\(try TestEnvironment.registry())/fixtures/evil-\(kind):latest"
        let push = try Shell.run("skopeo", ["copy", "--dest-tls-verify=false", "oci:\(layout):evil", "docker://\(ref)"])
        try #require(push.status == 0, "\(push.output)")
        return ref
    }

    @Test(arguments: ["dotdot", "symlink", "hardlink", "whiteout"])
    func aHostileLayerFailsAndTouchesNothingOutside(kind: String) throws {
        let temp = try TemporaryDirectory("evil")
        let victim = temp.path + "/host"
        try FileManager.default.createDirectory(atPath: victim, withIntermediateDirectories: true)
        try Data("canary".utf8).write(to: URL(fileURLWithPath: victim + "/canary"))
        let before = try TreeSnapshot(victim)
        let ref = try pushHostileImage(kind: kind, victim: victim, temp: temp)

        let store = temp.path + "/store"
        let pull = try Shell.devenv(["pull", ref], store: store)
        #expect(pull.status == 1, "\(pull.output)")
        #expect(pull.stderr.contains("cannot unpack layer"), "\(pull.stderr)")
        #expect(pull.stderr.contains("entry"), "\(pull.stderr)")
        #expect(try TreeSnapshot(victim) == before, "the host folder changed")
        #expect(!FileManager.default.fileExists(atPath: victim + "/pwned"))
        #expect(try FileManager.default.contentsOfDirectory(atPath: store + "/layers").isEmpty, "a failed layer was left in layers/")
        let images = try Shell.devenv(["images", "--json"], store: store)
        #expect(images.status == 0 && !images.stdout.contains("evil"), "the image of a failed pull is named in the store: \(images.stdout)")
    }
}
