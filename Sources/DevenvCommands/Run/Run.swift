import ArgumentParser
import Environments

struct Run: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run one command in the environment; its exit status is devenv's.",
        discussion: """
            The repository containing the working directory is mounted read-write at its own path \
            and the working directory is kept; you are yourself inside, with a $HOME kept per \
            project. stdin, stdout and stderr are yours, so pipes work both ways. A command killed \
            by signal N exits with 128+N. With --root you are root over a writable layer that is \
            thrown away at exit.

            When nothing changed since the last start (manifest, lock, layers, your user, PATH, \
            TERM, …), devenv starts the sandbox from the launch record that start left, in a few \
            milliseconds; DEVENV_TRACE_START=1 prints which start was taken and why.

            Examples:
              devenv run --image debian:bookworm -- make test
              echo hello | devenv run --image debian:bookworm -- tr a-z A-Z
              devenv run --root --image debian:bookworm -- apt-get install -y jq
            """
    )

    @OptionGroup var global: GlobalOptions
    @OptionGroup var sandbox: SandboxOptions

    @Argument(help: ArgumentHelp("The command and its arguments, after --.", valueName: "command"))
    var command: [String] = []

    func validate() throws {
        guard !command.isEmpty else { throw ValidationError("no command: devenv run [options] -- COMMAND [ARGUMENTS…]") }
    }

    func run() async throws {
        try global.enterDirectory()
        let launcher = EnvironmentLauncher(request: sandbox.request(global), progress: BuildOutput.progress(quiet: global.quiet, verbose: global.verbose),
                                           onNote: Terminal.note)
        let status = try await launcher.run(command: command)
        if status != 0 { throw ExitCode(status) }
    }
}
