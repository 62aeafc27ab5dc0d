import ArgumentParser
import Environments
import Foundation
import ImageStore

struct Ps: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "List your running environments on this machine, with their services and ports.",
        discussion: "One line per environment (devenv up); STATUS of each service: starting, ready, restarting, failed, exited."
    )

    @OptionGroup var global: GlobalOptions

    @Flag(help: "Print a JSON array of the environments' states instead of a table.")
    var json = false

    func run() async throws {
        let states = RunningEnvironment.all(store: try global.store())
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
            encoder.dateEncodingStrategy = .iso8601
            Terminal.out(String(decoding: try encoder.encode(states), as: UTF8.self))
            return
        }
        if states.isEmpty {
            if !global.quiet { Terminal.note("No running environments. Start one in a project with: devenv up -d") }
            return
        }
        let now = Date()
        let table = [["NAME", "SERVICES", "PORTS", "UP", "PROJECT"]] + states.map { state in
            [state.name,
             state.services.map { "\($0.name) \($0.status.rawValue)" + ($0.restarts > 0 ? " (\($0.restarts) restarts)" : "") }
                .joined(separator: ", ").nonEmpty ?? "-",
             state.ports.map { "127.0.0.1:" + $0.replacingOccurrences(of: ":", with: "→") }.joined(separator: ", ").nonEmpty ?? "-",
             Units.uptime(now.timeIntervalSince(state.started)),
             state.project]
        }
        Terminal.table(table)
    }
}

extension String {
    /// nil for "", for `??` defaults.
    var nonEmpty: String? { isEmpty ? nil : self }
}
