import Foundation
import Synchronization
import TestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// `devenv pull` against a real registry, with images built by mmdebstrap, umoci and skopeo.
@Suite(.serialized) struct PullTests {
    /// Pulls `ref` into a fresh store and checks the overlay of its unpacked layers against
    /// umoci's unpack of the same image, path by path.
    func expectSameAsUmoci(_ ref: String, reference: String) throws {
        let temp = try TemporaryDirectory("pull")
        let store = temp.path + "/store"
        let pull = try Shell.devenv(["pull", ref], store: store)
        try #require(pull.status == 0, "devenv pull \(ref): \(pull.output)")
        #expect(pull.stdout.contains("Pulled \(ref)"))

        let layers = try StoreInspector(store: store).layerDirectories(of: ref)
        let overlay = try Overlay(layers: layers, in: temp)
        defer { overlay.unmount() }
        let ours = try TreeSnapshot(overlay.mountpoint)
        let theirs = try TreeSnapshot(try TestEnvironment.fixtures() + "/ref/\(reference)/rootfs")
        let differences = ours.differences(from: theirs)
        #expect(differences.isEmpty, "overlay of devenv's layers differs from umoci unpack:\n\(differences.joined(separator: "\n"))")
        #expect(ours.entries.count > 10)
    }

    @Test func debianMadeByMmdebstrapUnpacksLikeUmoci() throws {
        try expectSameAsUmoci("\(try TestEnvironment.registry())/fixtures/debian:bookworm", reference: "debian")
    }

    @Test func dockerSchema2AndZstdVariantsUnpackTheSame() throws {
        try expectSameAsUmoci("\(try TestEnvironment.registry())/fixtures/debian:bookworm-v2s2", reference: "debian")
        try expectSameAsUmoci("\(try TestEnvironment.registry())/fixtures/debian:bookworm-zstd", reference: "debian")
    }

    @Test func multiLayerImageWithWhiteoutsAndOpaqueDirsUnpacksLikeUmoci() throws {
        try expectSameAsUmoci("\(try TestEnvironment.registry())/fixtures/layered:latest", reference: "layered")
    }

    @Test func anIndexResolvesToTheHostPlatform() throws {
        let temp = try TemporaryDirectory("pull")
        let ref = "\(try TestEnvironment.registry())/fixtures/multiarch:latest"
        let pull = try Shell.devenv(["pull", ref], store: temp.path)
        try #require(pull.status == 0, "\(pull.output)")
        #expect(pull.stderr.contains("linux/amd64"))
        let layers = try StoreInspector(store: temp.path).layerDirectories(of: ref)
        let overlay = try Overlay(layers: layers, in: temp)
        defer { overlay.unmount() }
        // The index lists the arm64 image first; each image names its architecture in /etc/arch.
        let arch = try String(contentsOfFile: overlay.mountpoint + "/etc/arch", encoding: .utf8)
        #expect(arch.trimmingCharacters(in: .whitespacesAndNewlines) == "amd64")
    }

    @Test func theStoreIsAnOCILayoutSkopeoAndUmociRead() throws {
        let temp = try TemporaryDirectory("pull")
        let ref = "\(try TestEnvironment.registry())/fixtures/layered:latest"
        try #require(try Shell.devenv(["pull", ref], store: temp.path).status == 0)
        let skopeo = try Shell.run("skopeo", ["inspect", "oci:\(temp.path)/oci:\(ref)"])
        #expect(skopeo.status == 0, "skopeo inspect: \(skopeo.output)")
        #expect(skopeo.stdout.contains("\"Layers\""))
        let umoci = try Shell.run("umoci", ["ls", "--layout", temp.path + "/oci"])
        #expect(umoci.status == 0, "umoci ls: \(umoci.output)")
        #expect(umoci.stdout.contains(ref))
    }

    @Test func imagesListsWhatWasPulledWithSizes() throws {
        let temp = try TemporaryDirectory("pull")
        let registry = try TestEnvironment.registry()
        for ref in ["\(registry)/fixtures/layered:latest", "\(registry)/fixtures/debian:bookworm"] {
            try #require(try Shell.devenv(["pull", ref], store: temp.path).status == 0)
        }
        let list = try Shell.devenv(["images", "--json"], store: temp.path)
        try #require(list.status == 0, "\(list.output)")
        let rows = try #require(try JSONSerialization.jsonObject(with: Data(list.stdout.utf8)) as? [[String: Any]])
        #expect(rows.count == 2)
        for row in rows {
            #expect((row["size"] as? Int ?? 0) > 0)
            #expect((row["unpackedSize"] as? Int ?? 0) > 0)
            #expect(row["unpacked"] as? Bool == true)
            #expect(row["platform"] as? String == "linux/amd64")
        }
        let table = try Shell.devenv(["images"], store: temp.path)
        #expect(table.stdout.hasPrefix("REFERENCE"))
        #expect(table.stdout.contains("fixtures/debian:bookworm"))
    }

    @Test func aSecondPullDownloadsNothing() throws {
        let temp = try TemporaryDirectory("pull")
        let ref = "\(try TestEnvironment.registry())/fixtures/layered:latest"
        try #require(try Shell.devenv(["pull", ref], store: temp.path).status == 0)
        let again = try Shell.devenv(["pull", ref], store: temp.path)
        #expect(again.status == 0)
        #expect(!again.stderr.contains("downloaded"), "\(again.stderr)")
        #expect(again.stderr.contains("already present"))
        #expect(again.stderr.contains("already unpacked"))
    }

    @Test func aCorruptBlobInTheStoreIsDetectedAndFetchedAgain() throws {
        let temp = try TemporaryDirectory("pull")
        let ref = "\(try TestEnvironment.registry())/fixtures/layered:latest"
        try #require(try Shell.devenv(["pull", ref], store: temp.path).status == 0)
        let inspector = StoreInspector(store: temp.path)
        let blob = try #require(try inspector.layerBlobs(of: ref).last)
        let path = inspector.blobPath(blob)
        var bytes = try Data(contentsOf: URL(fileURLWithPath: path))
        bytes[bytes.count / 2] ^= 0xff
        try bytes.write(to: URL(fileURLWithPath: path))

        let again = try Shell.devenv(["pull", ref], store: temp.path)
        #expect(again.status == 0, "\(again.output)")
        #expect(again.stderr.contains("corrupt"), "\(again.stderr)")
        #expect("sha256:" + TreeSnapshot.sha256(try Data(contentsOf: URL(fileURLWithPath: path))) == blob)
    }

    @Test func twoPullsAtOnceBothSucceedAndTheStoreStaysConsistent() throws {
        let temp = try TemporaryDirectory("pull")
        let registry = try TestEnvironment.registry()
        let refs = ["\(registry)/fixtures/debian:bookworm", "\(registry)/fixtures/debian:bookworm", "\(registry)/fixtures/layered:latest"]
        let store = temp.path
        let results = Mutex([Shell.Result?](repeating: nil, count: refs.count))
        DispatchQueue.concurrentPerform(iterations: refs.count) { i in
            let result = try? Shell.devenv(["pull", refs[i]], store: store)
            results.withLock { $0[i] = result }
        }
        for result in results.withLock({ $0 }) {
            #expect(result?.status == 0, "\(result?.output ?? "did not run")")
        }
        let list = try Shell.devenv(["images", "--json"], store: temp.path)
        let rows = try #require(try JSONSerialization.jsonObject(with: Data(list.stdout.utf8)) as? [[String: Any]])
        #expect(Set(rows.compactMap { $0["reference"] as? String }) == Set(refs))
        #expect(try FileManager.default.contentsOfDirectory(atPath: temp.path + "/oci/blobs/sha256").allSatisfy { !$0.contains(".") })
    }
}
