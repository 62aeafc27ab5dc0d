import ArgumentParser
import Foundation

/// Gives a new volume directory its owner inside (`[volumes]`, rootless with subordinate ids):
/// only root of a user namespace with the sandbox's mapping may chown to those ids, so devenv
/// runs this command there. Not for people: hidden from help.
struct OwnTree: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "own-tree",
        abstract: "Give a directory an owner (run by devenv inside a user namespace).",
        shouldDisplay: false
    )

    @Argument var path: String
    @Argument var uid: UInt32
    @Argument var gid: UInt32

    func run() throws {
        guard lchown(path, uid, gid) == 0 else {
            FileHandle.standardError.write(Data("chown \(path): \(String(cString: strerror(errno)))\n".utf8))
            throw ExitCode(1)
        }
    }
}
