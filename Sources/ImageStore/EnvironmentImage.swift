import Foundation
import OCI

/// A built environment as an OCI image in the store's index (`env/<id>`): the base image's
/// layers and the built ones, with their blobs, so `images` lists it, `gc` keeps what it uses
/// and skopeo can copy it to a registry. Each layer descriptor names its `layers/` directory.
public enum EnvironmentImage {
    public static let layerKeyAnnotation = "dev.devenv.layer.key"
    public static let projectAnnotation = "dev.devenv.project"

    public static func name(environmentDirectory: String, layout: LayerLayout) -> String {
        "env/" + URL(fileURLWithPath: environmentDirectory).lastPathComponent + layout.suffix
    }

    /// Writes the image's config and manifest and points `name` at it; `environment` is the
    /// image's Env.
    public static func tag(_ name: String, base: LocalImage, built: [LayerBlob.Stored], environment: [String], project: String,
                    content: ContentStore) async throws {
        var config = base.config
        config.rootfs.diff_ids += built.map(\.diffID)
        var runtime = config.config ?? ImageConfig.RuntimeConfig()
        runtime.Env = environment
        config.config = runtime
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let configData = try encoder.encode(config)
        let configDigest = try content.put(configData)

        let baseLayers = zip(base.manifest.layers, base.layers).map { descriptor, key in
            var annotated = descriptor
            annotated.annotations = (descriptor.annotations ?? [:]).merging([layerKeyAnnotation: key]) { $1 }
            return annotated
        }
        let manifest = ImageManifest(
            schemaVersion: 2, mediaType: MediaType.ociManifest,
            config: Descriptor(mediaType: MediaType.ociConfig, digest: configDigest, size: Int64(configData.count)),
            layers: baseLayers + built.map(\.descriptor),
            annotations: [projectAnnotation: project])
        let manifestData = try encoder.encode(manifest)
        let manifestDigest = try content.put(manifestData)
        try await content.tag(name, Descriptor(mediaType: MediaType.ociManifest, digest: manifestDigest, size: Int64(manifestData.count),
                                               platform: Platform.host))
    }

    /// The stored blob of built layer `key`, from any environment image that lists it.
    public static func blob(forKey key: String, content: ContentStore) -> LayerBlob.Stored? {
        guard let index = try? content.index() else { return nil }
        for entry in index.manifests where (entry.annotations?[ContentStore.refNameAnnotation] ?? "").hasPrefix("env/") {
            guard let manifest = try? JSONDecoder().decode(ImageManifest.self, from: content.read(entry.digest)),
                  let position = manifest.layers.firstIndex(where: { $0.annotations?[layerKeyAnnotation] == key }),
                  let config = try? JSONDecoder().decode(ImageConfig.self, from: content.read(manifest.config.digest)),
                  position < config.rootfs.diff_ids.count, content.contains(manifest.layers[position].digest) else { continue }
            return LayerBlob.Stored(descriptor: manifest.layers[position], diffID: config.rootfs.diff_ids[position])
        }
        return nil
    }
}
