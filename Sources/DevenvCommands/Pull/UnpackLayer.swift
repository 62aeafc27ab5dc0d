import ArgumentParser
import Foundation
import ImageStore
import Layers
import Sandbox
import Storage

#if canImport(Glibc)
import Glibc
#endif

/// The rootless unpack with owners: `ImagePull` runs this command as root of a user namespace
/// with the sandbox's id mapping, so that the owners the archive records are stored as the host
/// ids the sandbox shows as those owners. Not for people: hidden from help.
struct UnpackLayer: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "unpack-layer",
        abstract: "Unpack one layer with its owners (run by devenv inside a user namespace).",
        shouldDisplay: false
    )

    @Option var archive: String
    @Option var into: String
    @Option var lower: [String] = []
    /// What the image says the blob and its uncompressed tar hash to (`LayerDigests`).
    @Option var blobDigest: String?
    @Option(name: .customLong("diff-id")) var diffID: String?
    /// Where `into` goes once complete (LayerStore.Production.published says why it is moved here).
    @Option var publishAs: String

    /// On success publishes the layer and prints the `UnpackSummary` as JSON; on failure prints
    /// the error alone, after removing `into`: its files belong to ids only this namespace may
    /// delete.
    func run() throws {
        do {
            let summary = try LayerUnpacker(preserveOwnership: true, allowDevices: false)
                .unpack(archivePath: archive, into: into, lowerLayers: lower, expected: diffID.map { LayerDigests(blob: blobDigest, diffID: $0) })
            guard rename(into, publishAs) == 0 else { throw StorageError.posix("rename \(into) to \(publishAs)", errno) }
            FileHandle.standardOutput.write(try JSONEncoder().encode(summary))
        } catch {
            try? LayerStore.removeTree(into)
            FileHandle.standardError.write(Data("\(error)".utf8))
            throw ExitCode(1)
        }
    }
}
