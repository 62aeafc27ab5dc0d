import Foundation
import ImageStore
import OCI
import Testing
@testable import Environments

@Suite struct PublishedEnvironmentTests {
    static let digest = Digest(hashing: Data("layer".utf8))

    @Test func thePublishedManifestHasOCITypesKeysAndNoLocalPath() throws {
        let built = ImageManifest(
            schemaVersion: 2, mediaType: MediaType.ociManifest,
            config: Descriptor(mediaType: MediaType.ociConfig, digest: Self.digest, size: 5),
            layers: [Descriptor(mediaType: MediaType.dockerLayerGzip, digest: Self.digest, size: 5,
                                annotations: [EnvironmentImage.layerKeyAnnotation: "base-key"]),
                     Descriptor(mediaType: MediaType.ociLayerGzip, digest: Self.digest, size: 5,
                                annotations: [EnvironmentImage.layerKeyAnnotation: "build-key"]),
                     // Pulled from a registry: kept under another directory, published by its step key.
                     Descriptor(mediaType: MediaType.ociLayerGzip, digest: Self.digest, size: 5,
                                annotations: [EnvironmentImage.layerKeyAnnotation: "build-pulled-directory",
                                              SharedCache.stepKeyAnnotation: "build-step-key", SharedCache.titleAnnotation: "apt"])],
            annotations: [EnvironmentImage.projectAnnotation: "/home/ada/src/webapp"])
        let published = PublishedEnvironment.published(built, annotations: [PublishedEnvironment.lockDigestAnnotation: "sha256:1"])
        #expect(published.layers.map(\.mediaType) == [MediaType.ociLayerGzip, MediaType.ociLayerGzip, MediaType.ociLayerGzip])
        #expect(published.layers.map { $0.annotations?[EnvironmentImage.layerKeyAnnotation] } == ["base-key", "build-key", "build-step-key"])
        #expect(published.layers[2].annotations == [EnvironmentImage.layerKeyAnnotation: "build-step-key", SharedCache.titleAnnotation: "apt"])
        #expect(published.annotations == [PublishedEnvironment.lockDigestAnnotation: "sha256:1"])
        #expect(published.config.digest == built.config.digest)
    }

    @Test func exportTagsAreImageNamesWithATag() {
        for name in ["devenv/webapp:dev", "registry.example.com:5000/team/app:V1.2", "app:latest"] {
            #expect(EnvironmentExport.isImageName(name), "\(name)")
        }
        for name in ["devenv/webapp", "Devenv/webapp:dev", "app@sha256:" + String(repeating: "a", count: 64), "app:dev tag", "app:-x",
                     "app:\u{1b}[31m", "", ":dev", "app:" + String(repeating: "t", count: 300)] {
            #expect(!EnvironmentExport.isImageName(name), "\(name)")
        }
    }

    @Test func exportNamesAreValidDockerRepositories() {
        #expect(EnvironmentExport.imageName("webapp") == "devenv/webapp:latest")
        #expect(EnvironmentExport.imageName("My.Web_App") == "devenv/my.web_app:latest")
        #expect(EnvironmentExport.imageName("-x--y-") == "devenv/x-y:latest")
        #expect(EnvironmentExport.imageName("__") == "devenv/environment:latest")
        #expect(EnvironmentExport.imageName("café") == "devenv/caf:latest")
    }
}
