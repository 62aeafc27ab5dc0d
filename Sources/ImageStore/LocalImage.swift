import Foundation
import OCI

/// An image ready to run: its manifest, config and unpacked layers. The warm path reads only the
/// store (index.json, the manifest and config blobs, layers/); the network is used only when the
/// store lacks the image or one of its layers.
public struct LocalImage {
    public let manifest: ImageManifest
    public let config: ImageConfig
    /// Layer directory names in `layers/`, bottom first.
    public let layers: [String]

    public init(manifest: ImageManifest, config: ImageConfig, layers: [String]) {
        self.manifest = manifest
        self.config = config
        self.layers = layers
    }

    public static func ensure(_ ref: Reference, store: StoreLocation, layout: LayerLayout,
                              onEvent: @escaping @Sendable (ImagePullEvent) -> Void) async throws -> LocalImage {
        if let image = try local(ref.description, store: store, layout: layout) { return image }
        let pulled = try await ImagePull(store: store, layout: layout, onEvent: onEvent).run(ref)
        return LocalImage(manifest: pulled.manifest, config: pulled.config, layers: pulled.config.chainIDs.map(layout.key))
    }

    /// The image `name` in the store's index when all its layers are unpacked, else nil.
    public static func local(_ name: String, store: StoreLocation, layout: LayerLayout) throws -> LocalImage? {
        let content = try store.contentStore()
        guard let descriptor = try content.resolve(name) else { return nil }
        return try local(descriptor, content: content, store: store, layout: layout)
    }

    /// The image pulled as `digest` (its manifest's, or the index it was chosen from), whatever
    /// name it was pulled under, when all its layers are unpacked.
    public static func local(digest: Digest, store: StoreLocation, layout: LayerLayout) throws -> LocalImage? {
        let content = try store.contentStore()
        let entries = try content.index().manifests.filter {
            $0.digest == digest || $0.annotations?[ContentStore.sourceIndexAnnotation] == digest.description
        }
        for descriptor in entries {
            if let image = try local(descriptor, content: content, store: store, layout: layout) { return image }
        }
        return nil
    }

    /// The `layers/` directories an image runs on, bottom first: images devenv made (bootstrap
    /// bases, environments) name each layer's directory; pulled ones are named by chain id, with
    /// the layout's `suffix` (`LayerLayout`); none without a config to compute them from.
    public static func layerDirectories(_ manifest: ImageManifest, _ config: ImageConfig?, suffix: String) -> [String] {
        let annotated = manifest.layers.compactMap { $0.annotations?[EnvironmentImage.layerKeyAnnotation] }
        return annotated.count == manifest.layers.count && !annotated.isEmpty ? annotated : (config?.chainIDs ?? []).map { $0.hex + suffix }
    }

    private static func local(_ descriptor: Descriptor, content: ContentStore, store: StoreLocation, layout: LayerLayout) throws -> LocalImage? {
        let manifest = try JSONDecoder().decode(ImageManifest.self, from: content.read(descriptor.digest))
        let config = try JSONDecoder().decode(ImageConfig.self, from: content.read(manifest.config.digest))
        let layers = layerDirectories(manifest, config, suffix: layout.suffix)
        let layerStore = store.layerStore()
        guard layers.allSatisfy(layerStore.contains) else { return nil }
        return LocalImage(manifest: manifest, config: config, layers: layers)
    }
}
