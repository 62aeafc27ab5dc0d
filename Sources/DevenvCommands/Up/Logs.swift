import ArgumentParser
import Environments
import Foundation

struct Logs: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Print a service's output (every service's, each line after its name, when none is named).",
        discussion: """
            The logs of the current or last run of devenv up; the run before is kept as NAME.log.1 \
            in the environment's logs directory. Lines starting with [devenv …] are the \
            supervisor's: starts, readiness, exits, restarts, stops.
            """
    )

    @OptionGroup var global: GlobalOptions

    @Flag(name: .shortAndLong, help: "Keep printing what the services write, until Ctrl-C.")
    var follow = false

    @Argument(help: ArgumentHelp("The service (default: all).", valueName: "service"))
    var service: String?

    func run() async throws {
        try global.enterDirectory()
        let up = EnvironmentUp(launcher: Up.launcher(global), onLine: Terminal.note)
        let (running, manifest) = try await up.running()
        let names = manifest?.services.map(\.name) ?? []
        if let service, !names.contains(service) {
            throw ValidationError("no service \"\(service)\" in the manifest; its services: \(names.isEmpty ? "none" : names.joined(separator: ", "))")
        }
        var logs = ServiceLogs(running, services: service.map { [$0] } ?? names, named: service == nil)
        repeat {
            logs.newLines().forEach(Terminal.out)
            if follow { try await Task.sleep(for: .milliseconds(200)) }
        } while follow
    }
}
