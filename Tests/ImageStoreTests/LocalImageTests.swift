import Foundation
import ImageStore
import OCI
import TestSupport
import Testing

/// Which directories of `layers/` an image in the store runs on: by chain id for a pulled image,
/// by the key each layer descriptor names for an image devenv made.
@Suite struct LocalImageTests {
    struct Fixture {
        let scratch: TemporaryDirectory
        let store: StoreLocation
        let content: ContentStore
        let base: LocalImage
        let layerDigest: Digest
        let diffID: Digest
    }

    /// A one-layer image tagged `example/base:1`, as a pull leaves it (layer not unpacked yet).
    func pulledImage() async throws -> Fixture {
        let scratch = try TemporaryDirectory("image-store-test")
        let store = try StoreLocation(explicit: scratch.path + "/store")
        let content = try store.contentStore()
        let blob = Data("a layer's bytes".utf8)
        let layerDigest = try content.put(blob)
        let diffID = Digest(hashing: Data("its uncompressed tar".utf8))
        let configData = Data(#"{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":["\#(diffID)"]}}"#.utf8)
        let configDigest = try content.put(configData)
        let manifest = ImageManifest(schemaVersion: 2, mediaType: MediaType.ociManifest,
                                     config: Descriptor(mediaType: MediaType.ociConfig, digest: configDigest, size: Int64(configData.count)),
                                     layers: [Descriptor(mediaType: MediaType.ociLayerGzip, digest: layerDigest, size: Int64(blob.count))])
        let manifestData = try JSONEncoder().encode(manifest)
        let manifestDigest = try content.put(manifestData)
        try await content.tag("example/base:1", Descriptor(mediaType: MediaType.ociManifest, digest: manifestDigest, size: Int64(manifestData.count)))
        let config = try JSONDecoder().decode(ImageConfig.self, from: configData)
        let base = LocalImage(manifest: manifest, config: config, layers: config.chainIDs.map(\.hex))
        return Fixture(scratch: scratch, store: store, content: content, base: base, layerDigest: layerDigest, diffID: diffID)
    }

    func unpack(_ key: String, in store: StoreLocation) async throws {
        _ = try await store.layerStore().ensure(key, discard: { _ in }) { scratch in
            try Data("unpacked".utf8).write(to: URL(fileURLWithPath: scratch + "/file"))
            return .filled
        }
    }

    @Test func aPulledImageRunsOnItsChainIDsOnceAllAreUnpacked() async throws {
        let fixture = try await pulledImage()
        let layout = LayerLayout.forInvoker(asRoot: false)
        #expect(try LocalImage.local("example/base:1", store: fixture.store, layout: layout) == nil, "not unpacked yet, yet ready")
        // A directory someone made by hand is not a verified layer.
        try FileManager.default.createDirectory(atPath: fixture.store.layers + "/" + fixture.base.layers[0], withIntermediateDirectories: true)
        #expect(try LocalImage.local("example/base:1", store: fixture.store, layout: layout) == nil, "an unverified directory counted")
        try FileManager.default.removeItem(atPath: fixture.store.layers + "/" + fixture.base.layers[0])
        try await unpack(layout.key(fixture.base.config.chainIDs[0]), in: fixture.store)
        let image = try #require(try LocalImage.local("example/base:1", store: fixture.store, layout: layout))
        #expect(image.layers == fixture.base.config.chainIDs.map(layout.key))
        #expect(try LocalImage.local("example/other:1", store: fixture.store, layout: layout) == nil)
    }

    @Test func anEnvironmentImageNamesEachLayersDirectoryAndItsBlob() async throws {
        let fixture = try await pulledImage()
        let layout = LayerLayout.forInvoker(asRoot: false)
        let name = EnvironmentImage.name(environmentDirectory: fixture.store.envs + "/web-0123456789ab", layout: layout)
        #expect(name == "env/web-0123456789ab" + layout.suffix)
        try await EnvironmentImage.tag(name, base: fixture.base, built: [], environment: ["PATH=/opt/venv/bin:/usr/bin", "A=1"],
                                       project: "/src/web", content: fixture.content)
        try await unpack(fixture.base.layers[0], in: fixture.store)
        let image = try #require(try LocalImage.local(name, store: fixture.store, layout: layout))
        #expect(image.layers == fixture.base.layers)
        #expect(image.config.config?.Env == ["PATH=/opt/venv/bin:/usr/bin", "A=1"])
        #expect(image.manifest.annotations?[EnvironmentImage.projectAnnotation] == "/src/web")
        let blob = try #require(EnvironmentImage.blob(forKey: fixture.base.layers[0], content: fixture.content))
        #expect(blob.descriptor.digest == fixture.layerDigest)
        #expect(blob.diffID == fixture.diffID)
        #expect(EnvironmentImage.blob(forKey: "no-such-key", content: fixture.content) == nil)
    }
}
