import ArgumentParser
import Foundation
import ImageStore
import Layers
import OCI
import Sandbox

/// Writes a built layer directory as an OCI layer blob. Rootless with subordinate ids the files
/// belong to ids the user cannot read as themself, so `LayerBlob` runs this command as root of a
/// user namespace with the sandbox's mapping, where stat() also shows the owners the image
/// records. Not for people: hidden from help.
struct ArchiveLayer: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "archive-layer",
        abstract: "Archive a layer directory as an OCI layer (run by devenv inside a user namespace).",
        shouldDisplay: false
    )

    @Option var directory: String
    @Option var output: String

    func run() throws {
        do {
            let archive = try LayerArchiver().archive(directory: directory, to: output)
            FileHandle.standardOutput.write(try JSONEncoder().encode(LayerBlob.Archive(archive)))
        } catch {
            unlink(output)
            FileHandle.standardError.write(Data("\(error)".utf8))
            throw ExitCode(1)
        }
    }
}
