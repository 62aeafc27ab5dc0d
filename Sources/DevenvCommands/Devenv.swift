import ArgumentParser
import Environments
import Foundation
import ImageStore
import Layers
import OCI
import Storage

#if canImport(Glibc)
import Glibc
#endif

public struct Devenv: AsyncParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "devenv",
        abstract: "Isolated, reproducible development environments for git repositories.",
        discussion: "A project commits .devenv/devenv.toml (what it needs); devenv pulls the base image, layers the project's packages on it as cached layers, and runs a shell in it.",
        subcommands: [Pull.self, Images.self, LockCommand.self, BuildCommand.self, PushCommand.self, ExportCommand.self, Status.self, Gc.self, Run.self, Enter.self, Up.self, Down.self, Ps.self, Logs.self, Init.self, Clone.self, TrustCommand.self, Doctor.self, UnpackLayer.self, ArchiveLayer.self, RemoveTree.self, OwnTree.self, Supervise.self]
    )

    public init() {}

    /// Runs the command line with devenv's exit codes: the command's own for run/enter, 1 for a
    /// user error, 2 for a usage error, 3 for an internal failure.
    public static func execute() async {
        let parsed: any ParsableCommand
        do { parsed = try parseAsRoot() } catch {
            // Help and version exit 0; every other parse failure is a usage error, exit 2.
            if exitCode(for: error) == .success { exit(withError: error) }
            FileHandle.standardError.write(Data((fullMessage(for: error) + "\n").utf8))
            Foundation.exit(2)
        }
        do {
            var command = parsed
            if var asyncCommand = command as? any AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
        } catch {
            if let (message, status) = Self.report(error) {
                FileHandle.standardError.write(Data("devenv: error: \(message)\n".utf8))
                Foundation.exit(status)
            }
            if error is ValidationError {
                FileHandle.standardError.write(Data((fullMessage(for: error) + "\n").utf8))
                Foundation.exit(2)
            }
            if error is ExitCode || error is CleanExit || exitCode(for: error) == .success { exit(withError: error) }
            FileHandle.standardError.write(Data("devenv: error: \(error)\n".utf8))
            Foundation.exit(3)
        }
    }

    static func report(_ error: any Error) -> (String, Int32)? {
        switch error {
        case let error as DevenvError: (error.description, error.kind == .user ? 1 : 3)
        case let error as OCIError:
            (error.message, error.isUserError || error.code == .digestMismatch || error.code == .invalidContent ? 1 : 3)
        case let error as LayerError: (error.description, 1)
        // A build step that ran and failed is the manifest's (or the lock's) to fix.
        case let error as StepFailure: (error.description, 1)
        case let error as StorageError: (error.description, 3)
        default: nil
        }
    }
}
