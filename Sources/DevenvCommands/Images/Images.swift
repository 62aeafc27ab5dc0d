import ArgumentParser
import Foundation
import ImageStore
import OCI
import Storage

struct Images: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "List the images and built environments (env/…) in the store, with their sizes.",
        discussion: "SIZE is the compressed size of the layers as pulled; UNPACKED is their disk usage in layers/."
    )

    @OptionGroup var global: GlobalOptions

    @Flag(help: "Print a JSON array instead of a table.")
    var json = false

    struct Row: Encodable {
        var reference: String
        var digest: String
        var platform: String?
        var created: String?
        var layers: Int
        var size: Int64
        var unpackedSize: Int64
        /// Whether every layer is unpacked and ready to run.
        var unpacked: Bool
    }

    func run() async throws {
        let store = try global.store()
        let content = try store.contentStore()
        let layerStore = store.layerStore()
        var rows: [Row] = []
        for descriptor in try content.index().manifests {
            let name = descriptor.annotations?[ContentStore.refNameAnnotation] ?? descriptor.digest.description
            let manifest = try JSONDecoder().decode(ImageManifest.self, from: content.read(descriptor.digest))
            let config = try JSONDecoder().decode(ImageConfig.self, from: content.read(manifest.config.digest))
            // A built environment's image names each layer's directory; a pulled one is named by chain ids.
            let annotated = manifest.layers.compactMap { $0.annotations?[EnvironmentImage.layerKeyAnnotation] }
            let keys = annotated.count == manifest.layers.count ? annotated : config.chainIDs.map(\.hex)
            rows.append(Row(
                reference: name,
                digest: descriptor.digest.description,
                platform: descriptor.platform?.description,
                created: config.created,
                layers: manifest.layers.count,
                size: manifest.layers.reduce(0) { $0 + $1.size },
                unpackedSize: keys.reduce(0) { $0 + layerStore.diskUsage($1) },
                unpacked: keys.allSatisfy(layerStore.contains)
            ))
        }
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
            Terminal.out(String(decoding: try encoder.encode(rows), as: UTF8.self))
            return
        }
        if rows.isEmpty {
            if !global.quiet { Terminal.note("No images in \(store.root). Pull one with: devenv pull debian:bookworm") }
            return
        }
        let table = [["REFERENCE", "DIGEST", "PLATFORM", "LAYERS", "SIZE", "UNPACKED"]] + rows.map { row in
            [row.reference, String(row.digest.dropFirst(7).prefix(12)), row.platform ?? "-", "\(row.layers)",
             Units.bytes(row.size), row.unpacked ? Units.bytes(row.unpackedSize) : "no"]
        }
        Terminal.table(table)
    }
}
