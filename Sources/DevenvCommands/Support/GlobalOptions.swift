import ArgumentParser
import Foundation

/// Options every command takes (DESIGN.md, "Command line").
public struct GlobalOptions: ParsableArguments, Sendable {
    @Option(name: .customLong("store"), help: ArgumentHelp("Store directory (default: $DEVENV_HOME, /var/lib/devenv as root, else $XDG_DATA_HOME/devenv or ~/.local/share/devenv).", valueName: "path"))
    var storePath: String?

    @Flag(name: .shortAndLong, help: "Print only errors and the essential result.")
    var quiet = false

    @Flag(name: .shortAndLong, help: "Print more detail about what happens.")
    var verbose = false

    public init() {}

    func store() throws -> StoreLocation {
        try StoreLocation(explicit: storePath)
    }
}
