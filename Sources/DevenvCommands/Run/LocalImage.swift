import Foundation
import OCI

/// An image ready to run: its config and unpacked layers. The warm path reads only the store
/// (index.json, the manifest and config blobs, layers/); the network is used only when the store
/// lacks the image or one of its layers.
struct LocalImage {
    let config: ImageConfig
    /// Layer directory names in `layers/`, bottom first.
    let layers: [String]

    static func ensure(_ ref: Reference, store: StoreLocation, quiet: Bool, layout: LayerLayout) async throws -> LocalImage {
        let content = try store.contentStore()
        if let descriptor = try content.resolve(ref.description) {
            let manifest = try JSONDecoder().decode(ImageManifest.self, from: content.read(descriptor.digest))
            let config = try JSONDecoder().decode(ImageConfig.self, from: content.read(manifest.config.digest))
            let layers = config.chainIDs.map(layout.key)
            let layerStore = store.layerStore()
            if layers.allSatisfy(layerStore.contains) { return LocalImage(config: config, layers: layers) }
        }
        let pulled = try await ImagePull(store: store, quiet: quiet, layout: layout).run(ref)
        return LocalImage(config: pulled.config, layers: pulled.config.chainIDs.map(layout.key))
    }
}
