import ArgumentParser
import Foundation
import ImageStore
import Sandbox
import Storage

/// Removes store directories whose files belong to subordinate ids (layers built or unpacked
/// rootless): only root of a user namespace with the sandbox's mapping may delete those, so
/// `StoreCleaner` runs this command there. Not for people: hidden from help.
struct RemoveTree: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "remove-tree",
        abstract: "Remove store directories (run by devenv inside a user namespace).",
        shouldDisplay: false
    )

    @Argument var paths: [String]

    func run() throws {
        for path in paths {
            do { try LayerStore.removeTree(path) } catch {
                FileHandle.standardError.write(Data("\(error)\n".utf8))
                throw ExitCode(1)
            }
        }
    }
}
