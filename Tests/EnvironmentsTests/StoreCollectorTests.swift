import Foundation
import ImageStore
import OCI
import TestSupport
import Testing
@testable import Environments

@Suite struct StoreCollectorTests {
    @Test func findChangesNothingAndRemoveTakesOnlyWhatNothingReferences() async throws {
        let scratch = try TemporaryDirectory("gc-test")
        let store = try StoreLocation(explicit: scratch.path + "/store")
        let content = try store.contentStore()
        let kept = try content.put(Data("referenced".utf8))
        let configData = Data(#"{"rootfs":{"type":"layers","diff_ids":[]}}"#.utf8)
        let config = try content.put(configData)
        let manifest = ImageManifest(schemaVersion: 2, mediaType: MediaType.ociManifest,
                                     config: Descriptor(mediaType: MediaType.ociConfig, digest: config, size: Int64(configData.count)),
                                     layers: [Descriptor(mediaType: MediaType.ociLayerGzip, digest: kept, size: 10,
                                                         annotations: [EnvironmentImage.layerKeyAnnotation: "kept-layer"])])
        let manifestData = try JSONEncoder().encode(manifest)
        let manifestDigest = try content.put(manifestData)
        try await content.tag("example/kept:1", Descriptor(mediaType: MediaType.ociManifest, digest: manifestDigest, size: Int64(manifestData.count)))
        let garbageBlob = try content.put(Data("nothing references this".utf8))
        for name in ["kept-layer", "stray-layer"] { try scratch.directory("store/layers/\(name)") }
        try scratch.file("store/tmp/probe.left-by-a-killed-run/upper/file", "x")

        let collector = StoreCollector(store: store, grace: 0) { _ in }
        let garbage = try await collector.find()
        #expect(garbage.blobs == [garbageBlob])
        #expect(garbage.layers == ["stray-layer"])
        #expect(garbage.scratch == [store.tmp + "/probe.left-by-a-killed-run"])
        #expect(garbage.freedBytes > 0)
        #expect(content.contains(garbageBlob), "find removed something")

        try collector.remove(garbage)
        #expect(!content.contains(garbageBlob))
        #expect(content.contains(kept) && content.contains(config) && content.contains(manifestDigest))
        #expect(FileManager.default.fileExists(atPath: store.layers + "/kept-layer"))
        #expect(!FileManager.default.fileExists(atPath: store.layers + "/stray-layer"))
        #expect(!FileManager.default.fileExists(atPath: store.tmp + "/probe.left-by-a-killed-run"))
    }

    @Test func whatWasWrittenWithinTheGracePeriodStays() async throws {
        let scratch = try TemporaryDirectory("gc-test")
        let store = try StoreLocation(explicit: scratch.path + "/store")
        _ = try store.contentStore().put(Data("a pull writing right now".utf8))
        try scratch.directory("store/layers/being-unpacked")
        let garbage = try await StoreCollector(store: store, grace: 600) { _ in }.find()
        #expect(garbage.blobs.isEmpty && garbage.layers.isEmpty && garbage.scratch.isEmpty)
    }
}
