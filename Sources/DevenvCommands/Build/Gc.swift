import ArgumentParser
import Environments
import ImageStore

struct Gc: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "gc",
        abstract: "Delete blobs, layers and scratch files nothing references, and report the space freed.",
        discussion: """
            Kept: every image in the store's index (pulled images, and each project's built \
            environment `env/…`) with its blobs and unpacked layers. An environment whose project \
            directory or manifest is gone is dropped from the index first (its home directory in \
            envs/ stays), and so is its `devenv trust` approval. Also removed: scratch left under tmp/ by killed runs. Waits for builds \
            in progress; anything written in the last --grace seconds (10 minutes) is left alone, \
            so a pull running at the same time is never cut short. Layers a running `run` or \
            `enter` uses are kept until it ends, and so is a partial download a pull is writing; \
            one a killed pull left is removed once it is older than the grace period.

            Examples:
              devenv gc --dry-run    show what would be deleted
              devenv gc
            """
    )

    @OptionGroup var global: GlobalOptions

    @Flag(help: "Only print what would be deleted.")
    var dryRun = false

    @Option(help: ArgumentHelp("Leave alone what was written in the last <seconds>.", valueName: "seconds"))
    var grace: Int = 600

    func run() async throws {
        let store = try global.store()
        let collector = StoreCollector(store: store, grace: grace) { Terminal.note("waiting for a build in progress (\($0))…") }
        let garbage = try await collector.find()
        let verb = dryRun ? "Would remove" : "Removed"
        for name in garbage.orphanedEnvironments { Terminal.note("\(verb) \(name): its project is gone") }
        for approval in garbage.forgottenApprovals { Terminal.note("\(verb) the approval of \(approval.project): its project is gone") }
        if global.verbose {
            for digest in garbage.blobs { Terminal.note("\(verb) blob \(digest)") }
            for name in garbage.layers { Terminal.note("\(verb) layer \(name)") }
            for path in garbage.scratch { Terminal.note("\(verb) \(path)") }
        }
        if !dryRun { try collector.remove(garbage) }
        Terminal.out("\(verb) \(garbage.blobs.count) blobs, \(garbage.layers.count) layers and \(garbage.scratch.count) scratch entries: \(dryRun ? "would free" : "freed") \(Units.bytes(garbage.freedBytes))")
    }
}
