import ArgumentParser
import Foundation
import Layers
import OCI
import Storage

#if canImport(Glibc)
import Glibc
#endif

struct Pull: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Pull an image into the store and unpack its layers.",
        discussion: """
            REF is read as Docker reads it: `debian` is docker.io/library/debian:latest.
            Credentials come from ~/.docker/config.json ($DOCKER_CONFIG); plain HTTP is used only
            for loopback registries and hosts in DEVENV_INSECURE_REGISTRIES.

            Examples:
              devenv pull debian:bookworm
              devenv pull 127.0.0.1:5000/team/base@sha256:…
            """
    )

    @OptionGroup var global: GlobalOptions

    @Argument(help: "Image reference, e.g. debian:bookworm or host:port/name:tag@sha256:….")
    var reference: String

    @Flag(help: "Only download into the store; unpack layers later, when the image is first used.")
    var noUnpack = false

    func run() async throws {
        let ref = try Reference(parsing: reference)
        let store = try global.store()
        let image = try await ImagePull(store: store, quiet: global.quiet, verbose: global.verbose).run(ref, unpack: !noUnpack)
        if global.quiet {
            Terminal.out(image.reference.pinned(to: image.resolvedDigest).description)
        } else {
            Terminal.out("Pulled \(image.reference) (\(image.resolvedDigest))")
        }
    }
}

/// Pull then unpack: what `pull` does, and what later commands do to make a base image usable.
struct ImagePull {
    let store: StoreLocation
    let quiet: Bool
    var verbose = false
    /// `pull` prepares the layers of a normal run; `run --root` its own.
    var layout = LayerLayout.forInvoker(asRoot: false)

    func run(_ ref: Reference, unpack shouldUnpack: Bool = true) async throws -> PulledImage {
        let content = try store.contentStore()
        let credentials = try Credentials.load()
        let client = RegistryClient(credentials: credentials)
        let progress = PullProgress(quiet: quiet)
        let image: PulledImage
        do {
            if !quiet { Terminal.note("Pulling \(ref)") }
            image = try await client.pull(ref, into: content) { progress.handle($0) }
            await client.shutdown()
        } catch {
            await client.shutdown()
            progress.finish()
            throw error
        }
        if shouldUnpack { try await unpack(image, content: content, progress: progress) }
        try await content.tag(ref.description, image.manifestDescriptor)
        progress.finish()
        return image
    }

    /// Unpacks each layer into `layers/<chain id>/`, bottom first, since a layer's unpacking
    /// reads the directories of the layers below it. The directory's name claims the diff_ids of
    /// the layers up to it, so each layer's stream is checked against its diff_id (and its blob
    /// against its digest) before the directory takes that name: an image lying about a diff_id
    /// cannot take the place of another image's layer.
    func unpack(_ image: PulledImage, content: ContentStore, progress: PullProgress) async throws {
        let layerStore = store.layerStore()
        let chain = image.config.chainIDs
        let unpacker = LayerUnpacker()
        var skipped = UnpackSummary()
        for (index, layer) in image.manifest.layers.enumerated() {
            let key = layout.key(chain[index])
            let lowers = chain[..<index].reversed().map { layerStore.directory(for: layout.key($0)) }
            let expected = LayerDigests(blob: layer.digest.description, diffID: image.config.rootfs.diff_ids[index].description)
            let start = ContinuousClock.now
            var summary: UnpackSummary?
            let produced = try await layerStore.ensure(key, onWait: {
                progress.layerNote(layer.digest, "waiting for another devenv to unpack it")
            }, discard: { try StoreCleaner.remove([$0], mapping: layout.mapping) }) { scratch in
                progress.layerNote(layer.digest, "unpacking")
                let failure = { (reason: String) in
                    DevenvError.user("cannot unpack layer \(index + 1) of \(chain.count) (\(layer.digest)) of \(image.reference): \(reason)")
                }
                if let mapping = layout.mapping {
                    summary = try UnpackLayer.inUserNamespace(archive: content.blobPath(layer.digest), into: scratch, lowers: lowers,
                                                              expected: expected, publishAs: layerStore.directory(for: key),
                                                              mapping: mapping, describe: failure)
                    return .published
                }
                do {
                    summary = try unpacker.unpack(archivePath: content.blobPath(layer.digest), into: scratch, lowerLayers: lowers,
                                                  expected: expected)
                } catch let error as LayerError {
                    throw failure(error.description)
                }
                return .filled
            }
            progress.layerNote(layer.digest, produced ? "unpacked in \(Terminal.seconds(ContinuousClock.now - start))" : "already unpacked")
            if let summary {
                if verbose {
                    Terminal.note("layer \(layer.digest.short): \(summary.entries) entries, \(Terminal.bytes(summary.bytes)), \(summary.whiteouts) whiteouts, \(summary.opaqueDirectories) opaque directories")
                }
                skipped.skippedDevices += summary.skippedDevices
                skipped.skippedXattrs += summary.skippedXattrs
            }
        }
        let lost = [
            skipped.skippedDevices > 0 ? "\(skipped.skippedDevices) device nodes under /dev (the sandbox provides its own /dev)" : nil,
            skipped.skippedXattrs > 0 ? "\(skipped.skippedXattrs) extended attributes such as file capabilities" : nil,
        ].compactMap { $0 }
        if !quiet, geteuid() != 0, !lost.isEmpty {
            Terminal.note("note: unpacked without root, so \(lost.joined(separator: " and ")) could not be reproduced")
        }
    }
}
