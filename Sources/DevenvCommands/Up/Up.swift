import ArgumentParser
import Environments
import Foundation

struct Up: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Start the project's running environment and its [services].",
        discussion: """
            Builds the environment as enter does, then starts one long-lived sandbox and, inside \
            it, each [services.NAME] once the services it depends_on are ready (their ready \
            command exited 0). A service that ends is restarted as its restart policy says, after \
            a pause that doubles up to 30 s. Each service's output goes to its log (devenv logs).

            While it is up, devenv enter and devenv run join it: the shell reaches the services on \
            127.0.0.1. With [network] mode = "private", the environment has a network of its own and \
            [network] ports are published on the host's 127.0.0.1, so two projects can both use 5432 \
            inside. [volumes] keep their contents across down and up.

            Without -d, up prints the services' output and Ctrl-C takes everything down. With -d \
            it returns once every service is ready. If a service fails or is not ready within \
            --timeout, up takes the environment down again and shows the end of its log.

            Examples:
              devenv up -d && psql -h 127.0.0.1 -p 15432
              devenv up web          # web and what it depends on
            """
    )

    @OptionGroup var global: GlobalOptions

    @Flag(name: .shortAndLong, help: "Return once every service is ready; the environment keeps running.")
    var detach = false

    @Option(help: ArgumentHelp("Seconds to wait for every service to be ready.", valueName: "seconds"))
    var timeout: Double = 120

    @Argument(help: ArgumentHelp("Services to start (with those they depend on); default: all.", valueName: "service"))
    var services: [String] = []

    func validate() throws {
        guard timeout > 0 else { throw ValidationError("--timeout must be a positive number of seconds") }
    }

    func run() async throws {
        try global.enterDirectory()
        let up = EnvironmentUp(launcher: Self.launcher(global), onLine: { if !global.quiet { Terminal.note($0) } })
        let started = try await up.up(timeout: timeout, services: services)
        let (outcome, state) = (started.outcome, started.state)
        let ports = state.ports.map { "127.0.0.1:" + $0.replacingOccurrences(of: ":", with: " → ") }
        switch outcome {
        case .alreadyUp:
            Terminal.note("\(state.name) is already up (devenv ps; devenv down to stop it)")
        case .ready:
            let count = state.services.count
            Terminal.note("\(state.name) is up: \(count) service\(count == 1 ? "" : "s") ready"
                          + (ports.isEmpty ? "" : "; ports \(ports.joined(separator: ", "))")
                          + (detach ? " (devenv logs -f, devenv enter, devenv down)" : "; Ctrl-C stops it"))
        }
        if !detach, outcome == .ready {
            try await up.follow(state, running: started.running, output: Terminal.out)
        }
    }

    static func launcher(_ global: GlobalOptions) -> EnvironmentLauncher {
        var request = LaunchRequest(given: global.given)
        request.quiet = global.quiet
        request.verbose = global.verbose
        return EnvironmentLauncher(request: request, progress: BuildOutput.progress(quiet: global.quiet, verbose: global.verbose),
                                   onNote: Terminal.note)
    }
}

struct Down: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Stop the project's running environment.",
        discussion: """
            Sends each service SIGTERM in reverse start order (SIGKILL after 10 s), then ends the \
            sandbox: no process, mount or network is left. Logs stay (devenv logs); volumes stay \
            unless --volumes.
            """
    )

    @OptionGroup var global: GlobalOptions

    @Flag(help: "Also delete the environment's [volumes] (their data is gone).")
    var volumes = false

    func run() async throws {
        try global.enterDirectory()
        let up = EnvironmentUp(launcher: Up.launcher(global), onLine: Terminal.note)
        let (state, removed) = try await up.down(volumes: volumes)
        if let state {
            Terminal.note("Stopped \(state.name)")
        } else if !global.quiet {
            Terminal.note("The environment is not up")
        }
        if !removed.isEmpty { Terminal.note("Deleted volume\(removed.count == 1 ? "" : "s") \(removed.joined(separator: ", "))") }
    }
}

/// Runs a project's environment for `devenv up`, which starts it detached. Not for people.
struct Supervise: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Supervise the project's running environment (started by devenv up).",
        shouldDisplay: false
    )

    @OptionGroup var global: GlobalOptions

    @Option(name: .customLong("service")) var services: [String] = []

    func run() async throws {
        try global.enterDirectory()
        var request = LaunchRequest(given: global.given)
        request.quiet = true
        let launcher = EnvironmentLauncher(request: request, progress: BuildOutput.progress(quiet: true, verbose: false),
                                           onNote: Terminal.note)
        try await EnvironmentSupervisor(launcher: launcher).run(services: services)
    }
}
