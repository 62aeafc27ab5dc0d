import Foundation
import Layers
import OCI
import Storage

#if canImport(Glibc)
import Glibc
#endif

/// Pull then unpack: what `pull` does, and what later commands do to make a base image usable.
public struct ImagePull: Sendable {
    public let store: StoreLocation
    /// `pull` prepares the layers of a normal run; `run --root` its own.
    public var layout = LayerLayout.forInvoker(asRoot: false)
    public let onEvent: @Sendable (ImagePullEvent) -> Void

    public init(store: StoreLocation, layout: LayerLayout = .forInvoker(asRoot: false), onEvent: @escaping @Sendable (ImagePullEvent) -> Void) {
        self.store = store
        self.layout = layout
        self.onEvent = onEvent
    }

    public func run(_ ref: Reference, unpack shouldUnpack: Bool = true) async throws -> PulledImage {
        let content = try store.contentStore()
        let credentials = try Credentials.load()
        let client = RegistryClient(credentials: credentials)
        let image: PulledImage
        defer { onEvent(.finished) }
        do {
            onEvent(.pulling(ref))
            image = try await client.pull(ref, into: content) { onEvent(.transfer($0)) }
            await client.shutdown()
        } catch {
            await client.shutdown()
            throw error
        }
        if shouldUnpack { try await unpack(image, content: content) }
        try await content.tag(ref.description, image.manifestDescriptor)
        return image
    }

    /// Unpacks each layer into `layers/<chain id>/`, bottom first, since a layer's unpacking
    /// reads the directories of the layers below it. The directory's name claims the diff_ids of
    /// the layers up to it, so each layer's stream is checked against its diff_id (and its blob
    /// against its digest) before the directory takes that name: an image lying about a diff_id
    /// cannot take the place of another image's layer.
    public func unpack(_ image: PulledImage, content: ContentStore) async throws {
        let chain = image.config.chainIDs
        var skipped = UnpackSummary()
        for (index, layer) in image.manifest.layers.enumerated() {
            let lowers = chain[..<index].reversed().map { layout.key($0) }
            let summary = try await unpackLayer(layer, diffID: image.config.rootfs.diff_ids[index], as: layout.key(chain[index]),
                                                over: lowers, content: content) { reason in
                DevenvError.user("cannot unpack layer \(index + 1) of \(chain.count) (\(layer.digest)) of \(image.reference): \(reason)")
            }
            if let summary {
                skipped.skippedDevices += summary.skippedDevices
                skipped.skippedXattrs += summary.skippedXattrs
            }
        }
        let lost = [
            skipped.skippedDevices > 0 ? "\(skipped.skippedDevices) device nodes under /dev (the sandbox provides its own /dev)" : nil,
            skipped.skippedXattrs > 0 ? "\(skipped.skippedXattrs) extended attributes such as file capabilities" : nil,
        ].compactMap { $0 }
        if geteuid() != 0, !lost.isEmpty { onEvent(.notReproduced(lost)) }
    }

    /// Unpacks blob `layer` into `layers/<key>/` over the directories `lowers` (top first) unless
    /// that exists; returns what could not be reproduced, or nil when it was there. The stream is
    /// checked against `diffID` (and the blob against its digest) before the directory takes its
    /// name. `failure` makes the error from the unpacker's reason.
    public func unpackLayer(_ layer: Descriptor, diffID: Digest, as key: String, over lowers: [String], content: ContentStore,
                            failure: @escaping (String) -> DevenvError) async throws -> UnpackSummary? {
        let layerStore = store.layerStore()
        let lowerDirectories = lowers.map(layerStore.directory(for:))
        let expected = LayerDigests(blob: layer.digest.description, diffID: diffID.description)
        let start = ContinuousClock.now
        var summary: UnpackSummary?
        let produced = try await layerStore.ensure(key, onWait: {
            onEvent(.layer(layer.digest, .waitingForAnother))
        }, discard: { try StoreCleaner.remove([$0], mapping: layout.mapping) }) { scratch in
            onEvent(.layer(layer.digest, .unpacking))
            if let mapping = layout.mapping {
                summary = try HelperCommand.unpackLayer(archive: content.blobPath(layer.digest), into: scratch, lowers: lowerDirectories,
                                                          expected: expected, publishAs: layerStore.directory(for: key),
                                                          mapping: mapping, describe: failure)
                return .published
            }
            do {
                summary = try LayerUnpacker().unpack(archivePath: content.blobPath(layer.digest), into: scratch, lowerLayers: lowerDirectories,
                                                     expected: expected)
            } catch let error as LayerError {
                throw failure(error.description)
            }
            return .filled
        }
        onEvent(.layer(layer.digest, produced ? .unpacked(ContinuousClock.now - start) : .alreadyUnpacked))
        if let summary { onEvent(.unpackSummary(layer.digest, summary)) }
        return summary
    }
}
