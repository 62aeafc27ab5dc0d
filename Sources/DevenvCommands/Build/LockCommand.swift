import ArgumentParser
import Environments
import Foundation
import Manifest
import Sandbox
import Storage

struct LockCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "lock",
        abstract: "Resolve .devenv/devenv.toml into .devenv/devenv.lock.",
        discussion: """
            The lock pins the base image's digest, the exact version of every apt package the \
            requests install (the whole closure, resolved by apt inside the base image), and every \
            pip distribution with its sha256 hashes (resolved by pip inside the environment). \
            Commit it: `devenv build` installs exactly what it says on every machine.

            Without options only what the manifest changed is resolved again; the rest of the lock \
            is kept. Same inputs give the same bytes.

            Examples:
              devenv lock              resolve what changed
              devenv lock --update     resolve everything again (new versions, moved tags)
              devenv lock --check      for CI: exit 1 and list the differences if stale
            """
    )

    @OptionGroup var global: GlobalOptions

    @Flag(help: "Resolve everything again, not only what the manifest changed.")
    var update = false

    @Flag(help: "Change nothing: exit 1 and print the differences when the lock does not match the manifest.")
    var check = false

    func validate() throws {
        if update && check { throw ValidationError("--update and --check cannot be used together") }
    }

    func run() async throws {
        try global.enterDirectory()
        let project = try Project.discover()
        let user = HostUser.current()
        let manifest = try project.manifest(home: user.home)
        let previous = try project.lock()
        if check {
            guard let previous else {
                Terminal.note("\(project.lockPath) does not exist\n  fix: run `devenv lock` and commit the file")
                throw ExitCode(1)
            }
            let differences = previous.differences(from: manifest)
            guard differences.isEmpty else {
                Terminal.note("\(project.lockPath) is out of date with \(project.manifestPath):\n"
                    + differences.map { "  - " + $0 }.joined(separator: "\n") + "\n  fix: run `devenv lock` and commit the new lock")
                throw ExitCode(1)
            }
            if !global.quiet { Terminal.note("\(project.lockPath) is up to date") }
            return
        }
        if let previous, !update, previous.differences(from: manifest).isEmpty {
            if !global.quiet { Terminal.note("\(project.lockPath) is up to date (devenv lock --update resolves everything again)") }
            return
        }
        let output = BuildOutput.progress(quiet: global.quiet, verbose: global.verbose)
        let store = try global.store()
        let lock = try await LockResolver(store: store, layout: .forInvoker(asRoot: false), output: output)
            .resolve(manifest, previous: previous, update: update)
        try project.writeLock(lock)
        if !global.quiet {
            let apt = lock.apt.map { "\($0.packages.count) apt packages" }
            let pip = lock.pip.map { "\($0.distributions.count) pip distributions" }
            let parts = [apt, pip].compactMap { $0 }
            Terminal.note("Wrote \(project.lockPath)\(parts.isEmpty ? "" : ": " + parts.joined(separator: ", "))")
        }
    }
}
