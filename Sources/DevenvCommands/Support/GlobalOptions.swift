import ArgumentParser
import Environments
import Foundation
import ImageStore

/// Options every command takes (docs/architecture.md, "Module graph": DevenvCommands).
public struct GlobalOptions: ParsableArguments, Sendable {
    @Option(name: .customLong("store"), help: ArgumentHelp("Store directory (default: $DEVENV_HOME, /var/lib/devenv as root, else $XDG_DATA_HOME/devenv or ~/.local/share/devenv).", valueName: "path"))
    var storePath: String?

    @Option(name: .customShort("C"), help: ArgumentHelp("Run as if devenv was started in <dir> (default: the working directory; the project is the git repository containing it).", valueName: "dir"))
    var directory: String?

    @Flag(name: .shortAndLong, help: "Print only errors and the essential result.")
    var quiet = false

    @Flag(name: .shortAndLong, help: "Print more detail about what happens.")
    var verbose = false

    public init() {}

    /// Changes to `-C`'s directory, as `git -C` and `make -C` do, so that relative paths and
    /// project discovery start there.
    func enterDirectory() throws {
        guard let directory else { return }
        guard FileManager.default.changeCurrentDirectoryPath(directory) else {
            throw DevenvError.user("cannot change to directory \(directory) given with -C: it does not exist or is not a directory")
        }
    }

    /// `-C` and `--store` as given, for commands devenv tells the user to run.
    var given: GivenLocation { GivenLocation(directory: directory, store: storePath) }

    func store() throws -> StoreLocation {
        try StoreLocation(explicit: storePath)
    }
}
