import Foundation
import Git
import ImageStore
import Manifest
import OCI

/// The project's environment as other tools get it (`push`, `export`): built first when needed,
/// then its image from the store with OCI media types throughout, the project's local path left
/// out, and annotations saying what made it: the manifest and lock digests, each layer's cache
/// key (kept from the store's manifest), the repository's origin and commit.
public struct PublishedEnvironment: Sendable {
    static let manifestDigestAnnotation = "dev.devenv.manifest.digest"
    static let lockDigestAnnotation = "dev.devenv.lock.digest"
    static let sourceAnnotation = "org.opencontainers.image.source"
    static let revisionAnnotation = "org.opencontainers.image.revision"

    /// The image manifest's bytes, as published.
    public let manifest: Data
    public let config: Descriptor
    public let layers: [Descriptor]
    /// The config's and layers' blobs, with the store's files holding them.
    public let blobs: [PushBlob]
    public let lockDigest: Digest
    /// The lock's `[base] image`: a push can mount its layers from there.
    public let baseImage: String?

    public var digest: Digest { Digest(hashing: manifest) }
    public var descriptor: Descriptor { Descriptor(mediaType: MediaType.ociManifest, digest: digest, size: Int64(manifest.count)) }
    /// The tag that names exactly this lock.
    public var lockTag: String { Self.lockTag(lockDigest) }

    /// `lock-` and the first 12 hex digits of the lock file's SHA-256.
    static func lockTag(_ lockDigest: Digest) -> String { "lock-" + String(lockDigest.hex.prefix(12)) }

    /// Builds what is missing (refusing a stale lock when `locked`) and reads the result.
    public static func prepare(project: Project, manifest: Manifest, store: StoreLocation, progress: BuildProgress,
                               locked: Bool) async throws -> PublishedEnvironment {
        let layout = LayerLayout.forInvoker(asRoot: false)
        var builder = EnvironmentBuilder(store: store, layout: layout, output: progress)
        builder.locked = locked
        let environment = try await builder.ensure(project: project, manifest: manifest)
        let content = try store.contentStore()
        let imageName = EnvironmentImage.name(environmentDirectory: project.environmentDirectory(manifest, store: store), layout: layout)
        guard let stored = try content.resolve(imageName) else {
            throw DevenvError.internal("the environment was built but \(imageName) is not in \(store.oci)/index.json")
        }
        let built = try JSONDecoder().decode(ImageManifest.self, from: content.read(stored.digest))
        let lockDigest = Digest(hashing: try Data(contentsOf: URL(fileURLWithPath: project.lockPath)))
        var annotations = [
            manifestDigestAnnotation: Digest(hashing: try Data(contentsOf: URL(fileURLWithPath: project.manifestPath))).description,
            lockDigestAnnotation: lockDigest.description,
        ]
        if let source = GitRepository.source(of: project.directory) {
            annotations[sourceAnnotation] = source.url
            annotations[revisionAnnotation] = source.commit
        }
        let published = published(built, annotations: annotations)
        let blobs = ([published.config] + published.layers).map { PushBlob(descriptor: $0, path: content.blobPath($0.digest)) }
        for blob in blobs where !content.contains(blob.descriptor.digest) {
            throw DevenvError.user("blob \(blob.descriptor.digest) of \(imageName) is missing from the store\n  fix: run `devenv build --no-cache`, then try again")
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return PublishedEnvironment(manifest: try encoder.encode(published), config: published.config, layers: published.layers,
                                    blobs: blobs, lockDigest: lockDigest, baseImage: environment.baseImage)
    }

    /// The store's manifest as other tools should see it: OCI media types throughout (a Docker
    /// base's layers are the same bytes under the OCI name), the project's path replaced by
    /// `annotations`. Nothing in it changes between two pushes of the same environment (no
    /// time), so a second push finds its manifest there already.
    static func published(_ built: ImageManifest, annotations: [String: String]) -> ImageManifest {
        var manifest = built
        manifest.mediaType = MediaType.ociManifest
        manifest.layers = built.layers.map { layer in
            var layer = layer
            layer.mediaType = MediaType.ociEquivalent(of: layer.mediaType)
            return layer
        }
        manifest.layers = manifest.layers.map { layer in
            // Published, a layer is named by the step key teammates' builds look up, whatever
            // directory this store keeps it in.
            var layer = layer
            if let step = layer.annotations?[SharedCache.stepKeyAnnotation] {
                layer.annotations?[EnvironmentImage.layerKeyAnnotation] = step
                layer.annotations?[SharedCache.stepKeyAnnotation] = nil
            }
            return layer
        }
        var merged = built.annotations ?? [:]
        merged[EnvironmentImage.projectAnnotation] = nil
        merged.merge(annotations) { $1 }
        manifest.annotations = merged
        return manifest
    }
}
