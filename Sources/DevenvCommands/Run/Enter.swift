import ArgumentParser
import Environments

struct Enter: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Start an interactive shell in the environment.",
        discussion: """
            Runs the image's shell (bash if it has one, else sh) with the environment's name in \
            the prompt, job control on your terminal, and the repository at its own path. Exiting \
            the shell exits devenv with the shell's status. Like run, it starts in a few \
            milliseconds when nothing changed since the last start (see devenv run --help).

            Examples:
              devenv enter --image debian:bookworm
              devenv enter --root --image debian:bookworm   # changes are gone at exit
            """
    )

    @OptionGroup var global: GlobalOptions
    @OptionGroup var sandbox: SandboxOptions

    func run() async throws {
        try global.enterDirectory()
        let launcher = EnvironmentLauncher(request: sandbox.request(global), progress: BuildOutput.progress(quiet: global.quiet, verbose: global.verbose),
                                           onNote: Terminal.note)
        let status = try await launcher.run(command: nil)
        if status != 0 { throw ExitCode(status) }
    }
}
