import ArgumentParser
import Environments
import Foundation
import ImageStore
import Sandbox

struct BuildCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "build",
        abstract: "Make every layer of the project's environment exist locally.",
        discussion: """
            Pulls the locked base image, then builds each step as a cached layer: apt packages, \
            pip requirements (a venv at /opt/devenv/venv, first on PATH), each [[setup]] step in \
            order. A layer's key covers its parent, its command and its lock entries, so changing \
            one pip pin rebuilds the pip layer and those above it, never the base or apt layers. \
            Writes .devenv/devenv.lock first when there is none, and after a manifest edit resolves \
            what changed and updates it, saying so in one line (--locked refuses both, for CI). \
            `enter` and `run` build first when needed.

            Examples:
              devenv build
              devenv build -q            errors only (a failing step shows its end)
              devenv build --no-cache    run every step again
              devenv build --locked      in CI: exit 1 when the lock is missing or stale
            """
    )

    @OptionGroup var global: GlobalOptions

    @Flag(help: "Run every step again even when its layer exists.")
    var noCache = false

    @Flag(help: "Exit 1 with the differences when the lock is missing or does not match the manifest, instead of updating it.")
    var locked = false

    @Flag(help: "Build the layers `--root` sessions use (rootless with subordinate ids they are separate copies).")
    var root = false

    func run() async throws {
        let started = LaunchRecord.startingNow()
        try global.enterDirectory()
        let project = try Project.discover()
        let manifest = try project.manifest(home: HostUser.current().home)
        let store = try global.store()
        try ProjectTrust(project: project, manifest: manifest, store: store).requireApproval(global.given)
        let start = ContinuousClock.now
        var builder = EnvironmentBuilder(store: store, layout: .forInvoker(asRoot: root), output: BuildOutput.progress(quiet: global.quiet, verbose: global.verbose))
        builder.noCache = noCache
        builder.locked = locked
        let environment = try await builder.ensure(project: project, manifest: manifest)
        if environment.built == 0, environment.pulled == 0 {
            // Said the same way by the launcher's answer, so without the time it took.
            let message = global.quiet ? "" : "\(project.environmentName(manifest)) is up to date (\(environment.layers.count) layers); enter it with: devenv enter\n"
            Terminal.err(message)
            if environment.upToDate, !noCache, !root {
                AnswerRecord(verb: "build", locked: locked, json: false, quiet: global.quiet)
                    .write(project: project, store: store, manifest: manifest, layers: environment.layers, started: started,
                           standardOutput: "", standardError: message)
            }
        } else if !global.quiet {
            let pulled = environment.pulled == 0 ? "" : " (\(environment.pulled) of its layers pulled from \(manifest.shareImage ?? "[share] image"))"
            Terminal.note("Built \(project.environmentName(manifest)) in \(Units.seconds(ContinuousClock.now - start))\(pulled); enter it with: devenv enter")
        }
    }
}
