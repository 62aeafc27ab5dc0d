import ArgumentParser
import Foundation
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

    /// Runs this command for one layer as 0/0 inside `mapping`, which leaves it at `destination`;
    /// throws the child's message as the in-process unpack would throw its `LayerError`.
    static func inUserNamespace(archive: String, into: String, lowers: [String], expected: LayerDigests?, publishAs destination: String,
                                mapping: IDMapping, describe: (String) -> DevenvError) throws -> UnpackSummary {
        var arguments = [try HelperCommand.executable(), "unpack-layer", "--archive", archive, "--into", into, "--publish-as", destination]
        for lower in lowers { arguments += ["--lower", lower] }
        if let expected {
            arguments += ["--diff-id", expected.diffID]
            if let blob = expected.blob { arguments += ["--blob-digest", blob] }
        }
        let result: UserNamespaceProcess.Result
        do {
            result = try UserNamespaceProcess.run(arguments, environment: HelperCommand.environment, mapping: mapping)
        } catch {
            throw DevenvError.internal("cannot unpack layers with the id mapping of the sandbox: \(error)")
        }
        let output = String(decoding: result.output, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        guard result.status == 0 else {
            throw describe(output.isEmpty ? "unpack-layer exited with status \(result.status)" : output)
        }
        do {
            return try JSONDecoder().decode(UnpackSummary.self, from: Data(result.output))
        } catch {
            throw DevenvError.internal("unpack-layer printed no summary: \(output)")
        }
    }
}
