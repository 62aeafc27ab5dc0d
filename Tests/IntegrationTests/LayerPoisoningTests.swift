import Foundation
import TestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// An attacker publishes an image whose config claims the diff_id of a popular image's first
/// layer (here fixtures/layered's) while its own layer holds their files. Layer directories are
/// named by chain id, so without verification the lie lands in the directory the real image
/// uses: pulled first, it replaces the real image's filesystem for every later pull, pinned by
/// digest or not. Each test runs as root and as both rootless users (the unpack runs in-process,
/// or in a user namespace as `unpack-layer`).
@Suite(.serialized) struct LayerPoisoningTests {
    /// Writes the lying image as an OCI layout by hand: a gzip layer with the attacker's files and
    /// a config naming `claimed` as its diff_id. Prints the layer's real diff_id.
    static let makeLiar = #"""
    import gzip, hashlib, io, json, os, sys, tarfile
    layout, claimed = sys.argv[1], sys.argv[2]
    def add(t, name, data=None, mode=0o755):
        info = tarfile.TarInfo(name); info.mode = mode
        if data is None:
            info.type = tarfile.DIRTYPE
        else:
            info.size = len(data)
        t.addfile(info, io.BytesIO(data) if data is not None else None)
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as t:
        for d in ["bin", "etc", "usr", "usr/bin"]:
            add(t, d)
        add(t, "bin/busybox", b"#!/bin/sh\necho pwned\n")
        add(t, "etc/arch", b"pwned\n", 0o644)
        add(t, "etc/hostname", b"pwned\n", 0o644)
        add(t, "usr/bin/backdoor", b"#!/bin/sh\nid\n", 0o4755)
    tar = raw.getvalue()
    os.makedirs(layout + "/blobs/sha256")
    def put(data):
        digest = hashlib.sha256(data).hexdigest()
        with open(layout + "/blobs/sha256/" + digest, "wb") as f:
            f.write(data)
        return {"digest": "sha256:" + digest, "size": len(data)}
    layer = put(gzip.compress(tar, mtime=0))
    config = put(json.dumps({"architecture": "amd64", "os": "linux", "config": {},
                             "rootfs": {"type": "layers", "diff_ids": [claimed]}}).encode())
    manifest = put(json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
                               "config": dict(config, mediaType="application/vnd.oci.image.config.v1+json"),
                               "layers": [dict(layer, mediaType="application/vnd.oci.image.layer.v1.tar+gzip")]}).encode())
    with open(layout + "/index.json", "w") as f:
        json.dump({"schemaVersion": 2, "manifests": [dict(manifest, mediaType="application/vnd.oci.image.manifest.v1+json",
                   annotations={"org.opencontainers.image.ref.name": "latest"})]}, f)
    with open(layout + "/oci-layout", "w") as f:
        f.write('{"imageLayoutVersion":"1.0.0"}')
    print("sha256:" + hashlib.sha256(tar).hexdigest())
    """#

    struct Liar {
        let ref: String
        /// The real image's first diff_id, which the liar's config claims.
        let claimed: String
        /// What the liar's layer really hashes to, uncompressed.
        let actual: String
    }

    static var repository: String { get throws { "\(try TestEnvironment.registry())/fixtures/layered" } }
    static var real: String { get throws { try repository + ":latest" } }

    static func skopeoInspect(_ arguments: [String]) throws -> String {
        let result = try Shell.run("skopeo", ["inspect", "--tls-verify=false"] + arguments + ["docker://\(try real)"])
        try #require(result.status == 0, "skopeo inspect: \(result.output)")
        return result.stdout
    }

    static func pushLiar(temp: TemporaryDirectory) throws -> Liar {
        let config = try #require(try JSONSerialization.jsonObject(with: Data(try skopeoInspect(["--config"]).utf8)) as? [String: Any])
        let claimed = try #require(((config["rootfs"] as? [String: Any])?["diff_ids"] as? [String])?.first)
        let layout = temp.path + "/liar-layout"
        let python = try Shell.run("python3", ["-c", makeLiar, layout, claimed])
        try #require(python.status == 0, "\(python.output)")
        let ref = "\(try TestEnvironment.registry())/fixtures/liar-\(UUID().uuidString.prefix(8).lowercased()):latest"
        let push = try Shell.run("skopeo", ["copy", "--dest-tls-verify=false", "oci:\(layout):latest", "docker://\(ref)"])
        try #require(push.status == 0, "\(push.output)")
        return Liar(ref: ref, claimed: claimed, actual: python.stdout.trimmingCharacters(in: .whitespacesAndNewlines))
    }

    /// The real image's layer directories as a clean pull by `user` makes them: the yardstick.
    static func cleanLayers(as user: StoreUser, temp: TemporaryDirectory) throws -> [String: TreeSnapshot] {
        let store = try user.makeStore("clean", in: temp)
        let pull = try user.devenv(["pull", try real], store: store)
        try #require(pull.status == 0, "\(pull.output)")
        return try layerSnapshots(store: store)
    }

    /// Every layer directory of the store by name: the real image's, and any other there is.
    static func layerSnapshots(store: String) throws -> [String: TreeSnapshot] {
        var snapshots: [String: TreeSnapshot] = [:]
        for name in try FileManager.default.contentsOfDirectory(atPath: store + "/layers") where !name.hasPrefix(".") {
            snapshots[name] = try TreeSnapshot(store + "/layers/" + name)
        }
        return snapshots
    }

    static func expectSameLayers(_ store: String, as clean: [String: TreeSnapshot], _ when: String) throws {
        let layers = try layerSnapshots(store: store)
        #expect(layers.keys.sorted() == clean.keys.sorted(), "\(when): layer directories \(layers.keys.sorted())")
        for (name, snapshot) in clean {
            let differences = layers[name].map { $0.differences(from: snapshot) } ?? ["missing"]
            #expect(differences.isEmpty, "\(when): layer \(name) is not the real image's:\n\(differences.joined(separator: "\n"))")
        }
    }

    static func expectRefused(_ pull: Shell.Result, _ liar: Liar) {
        #expect(pull.status != 0, "the lying image was pulled: \(pull.output)")
        #expect(pull.stderr.contains("cannot unpack layer 1 of 1"), "\(pull.stderr)")
        #expect(pull.stderr.contains(liar.ref), "the error does not name the image: \(pull.stderr)")
        #expect(pull.stderr.contains("claimed \(liar.claimed)") && pull.stderr.contains("actual \(liar.actual)"),
                "the error does not name the claimed and the actual diff_id: \(pull.stderr)")
    }

    /// No layer directory and no scratch directory left by the refused unpack.
    static func expectNothingLeft(_ store: String) throws {
        let layers = try FileManager.default.contentsOfDirectory(atPath: store + "/layers").filter { !$0.hasPrefix(".") }
        #expect(layers.isEmpty, "a refused layer was left in layers/: \(layers)")
        let scratch = try FileManager.default.contentsOfDirectory(atPath: store + "/tmp").filter { name in
            var info = stat()
            return name != "ingest" && lstat(store + "/tmp/" + name, &info) == 0 && (info.st_mode & S_IFMT) == S_IFDIR
        }
        #expect(scratch.isEmpty, "a refused layer left scratch in tmp/: \(scratch)")
    }

    @Test(arguments: StoreUser.all)
    func aLyingImagePulledFirstFailsAndLeavesTheRealImageIntact(user: StoreUser) throws {
        let temp = try TemporaryDirectory("poison")
        let liar = try Self.pushLiar(temp: temp)
        let clean = try Self.cleanLayers(as: user, temp: temp)
        let store = try user.makeStore("store", in: temp)

        let lying = try user.devenv(["pull", liar.ref], store: store)
        Self.expectRefused(lying, liar)
        try Self.expectNothingLeft(store)
        let images = try user.devenv(["images", "--json"], store: store)
        #expect(images.status == 0 && !images.stdout.contains("liar"), "the refused image is named in the store: \(images.output)")

        let digest = try Self.skopeoInspect(["--format", "{{.Digest}}"]).trimmingCharacters(in: .whitespacesAndNewlines)
        let pinned = try user.devenv(["pull", "\(try Self.repository)@\(digest)"], store: store)
        try #require(pinned.status == 0, "\(pinned.output)")
        #expect(!pinned.stderr.contains("already unpacked"), "a layer of the pinned pull was taken from the store: \(pinned.stderr)")
        try Self.expectSameLayers(store, as: clean, "after the liar, then the real image pinned by digest")

        let tagged = try user.devenv(["pull", try Self.real], store: store)
        try #require(tagged.status == 0, "\(tagged.output)")
        try Self.expectSameLayers(store, as: clean, "after the real image by tag")
        let run = try user.devenv(["run", "--image", try Self.real, "--", "cat", "/etc/arch"], store: store)
        #expect(run.status == 0 && run.stdout == "amd64\n", "the real image runs the liar's files: \(run.output)")
    }

    /// Through a project: a manifest whose base is the lying image fails to build with the same
    /// claimed/actual error and leaves nothing; the project on the real image then builds and runs
    /// the real files.
    @Test(arguments: StoreUser.all)
    func aProjectOnALyingBaseFailsToBuildAndLeavesNothing(user: StoreUser) throws {
        let temp = try TemporaryDirectory("poison")
        let liar = try Self.pushLiar(temp: temp)
        let store = try user.makeStore("store", in: temp)
        let project = temp.path + "/project"
        try FileManager.default.createDirectory(atPath: project + "/.devenv", withIntermediateDirectories: true)
        #expect(try Shell.run("git", ["init", "-q", project]).status == 0)
        func use(_ base: String) throws {
            try "name = \"poisoned\"\n\n[base]\nimage = \"\(base)\"\n".write(toFile: project + "/.devenv/devenv.toml", atomically: true, encoding: .utf8)
            try? FileManager.default.removeItem(atPath: project + "/.devenv/devenv.lock")
            #expect(try Shell.run("chown", ["-R", "\(user.name):\(user.name)", project]).status == 0)
        }
        /// lock, then build: whichever first unpacks the base must refuse it.
        func build() throws -> Shell.Result {
            let lock = try user.devenv(["lock", "-C", project], store: store)
            guard lock.status == 0 else { return lock }
            return try user.devenv(["build", "-C", project], store: store)
        }

        try use(liar.ref)
        let lying = try build()
        #expect(lying.status != 0, "a project on the lying image was built: \(lying.output)")
        #expect(lying.stderr.contains("claimed \(liar.claimed)") && lying.stderr.contains("actual \(liar.actual)"),
                "the error does not name the claimed and the actual diff_id: \(lying.stderr)")
        try Self.expectNothingLeft(store)

        try use(try Self.real)
        let real = try build()
        try #require(real.status == 0, "\(real.output)")
        let run = try user.devenv(["run", "-C", project, "--", "cat", "/etc/arch"], store: store)
        #expect(run.status == 0 && run.stdout == "amd64\n", "the project runs the liar's files: \(run.output)")
    }

    /// The other order: the real layer is there and verified, so the liar's claim gets the real
    /// content (its own bytes are never unpacked), and the real image stays as it was.
    @Test(arguments: StoreUser.all)
    func aLyingImagePulledAfterTheRealOneChangesNothing(user: StoreUser) throws {
        let temp = try TemporaryDirectory("poison")
        let liar = try Self.pushLiar(temp: temp)
        let store = try user.makeStore("store", in: temp)
        let first = try user.devenv(["pull", try Self.real], store: store)
        try #require(first.status == 0, "\(first.output)")
        let before = try Self.layerSnapshots(store: store)

        _ = try user.devenv(["pull", liar.ref], store: store)
        try Self.expectSameLayers(store, as: before, "after the liar")
        let run = try user.devenv(["run", "--image", try Self.real, "--", "cat", "/etc/arch"], store: store)
        #expect(run.status == 0 && run.stdout == "amd64\n", "the real image runs the liar's files: \(run.output)")
    }

    /// A store written by a devenv that did not verify may already hold a poisoned directory, and
    /// a directory swapped in by anyone else is not the one that was verified: neither is used,
    /// both are unpacked again from the verified blob.
    @Test(arguments: StoreUser.all)
    func anUnverifiedOrSwappedLayerDirectoryIsUnpackedAgain(user: StoreUser) throws {
        let temp = try TemporaryDirectory("poison")
        let clean = try Self.cleanLayers(as: user, temp: temp)
        let store = try user.makeStore("store", in: temp)
        try #require(try user.devenv(["pull", try Self.real], store: store).status == 0)
        let first = try #require(try StoreInspector(store: store).layerDirectories(of: try Self.real).first)
        let name = String(first.split(separator: "/").last!)

        // As an older devenv left it: no stamp, and the liar's content in the real layer's place.
        try Data("pwned\n".utf8).write(to: URL(fileURLWithPath: first + "/etc/arch"))
        #expect(unlink(store + "/layers/.verified/" + name) == 0, "no verification stamp for \(name)")
        let again = try user.devenv(["pull", try Self.real], store: store)
        try #require(again.status == 0, "\(again.output)")
        try Self.expectSameLayers(store, as: clean, "after an unverified directory")

        // Swapped: a copy with other content under the stamped name.
        let copy = try Shell.run("cp", ["-a", first, first + ".swap"])
        try #require(copy.status == 0, "\(copy.output)")
        try Data("pwned\n".utf8).write(to: URL(fileURLWithPath: first + ".swap/etc/arch"))
        try #require(try Shell.run("sh", ["-c", "rm -rf \"$1\" && mv \"$1.swap\" \"$1\"", "sh", first]).status == 0)
        let run = try user.devenv(["run", "--image", try Self.real, "--", "cat", "/etc/arch"], store: store)
        #expect(run.status == 0 && run.stdout == "amd64\n", "a swapped layer directory was used: \(run.output)")
        try Self.expectSameLayers(store, as: clean, "after a swapped directory")
    }
}
