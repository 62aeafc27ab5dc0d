import ArgumentParser
import Environments
import Foundation
import Git
import ImageStore
import Sandbox

struct Clone: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Clone a git repository and build the environment its .devenv/ describes.",
        discussion: """
            Clones with libgit2 (https, ssh, local paths and file:// URLs) into DIR, by default \
            the repository's name as git chooses it (https://host/team/webapp.git -> webapp). \
            The clone is made beside DIR and renamed into place when complete, so a failed or \
            interrupted clone (Ctrl-C) leaves no directory behind; DIR must not exist or be \
            empty. Then, when the repository has a .devenv/devenv.toml, its environment is built \
            (devenv build in DIR); --enter opens a shell in it afterwards. A repository without \
            one is cloned all the same, and devenv says so. When the manifest reaches outside the \
            repository (host [mounts], seccomp = "unconfined"), devenv lists what it asks for, \
            builds and enters nothing, and exits 1: read it, then run devenv trust in DIR.

            Examples:
              devenv clone https://github.com/team/webapp.git
              devenv clone git@github.com:team/webapp.git work/webapp --enter
              devenv clone /srv/git/webapp.git
              devenv clone -q file:///srv/git/webapp.git
            """
    )

    @OptionGroup var global: GlobalOptions

    @Argument(help: ArgumentHelp("The repository: https://…, ssh://…, user@host:path, a path or file://….", valueName: "url"))
    var url: String

    @Argument(help: ArgumentHelp("Where to clone to (default: the repository's name).", valueName: "dir"))
    var directory: String?

    @Flag(help: "After building, open a shell in the environment (devenv enter).")
    var enter = false

    func run() throws {
        try global.enterDirectory()
        guard let name = directory ?? Self.defaultDirectory(for: url) else {
            throw ValidationError("cannot tell a directory name from \(url): give one, devenv clone URL DIR")
        }
        let destination = StoreLocation.absolute(name)
        if !global.quiet { Terminal.note("Cloning into '\(name)'...") }

        let display = CloneProgressDisplay(style: global.quiet ? .quiet : Terminal.stderrIsTTY ? .terminal : .plain)
        let interrupt = InterruptFlag(scratch: GitRepository.scratchDirectory(for: destination))
        do throws(GitError) {
            try GitRepository.clone(url: url, into: destination) { progress in
                display.update(progress)
                return interrupt.signal == nil
            }
            display.end(succeeded: true)
        } catch {
            display.end(succeeded: false)
            interrupt.stop()
            switch error.code {
            case .cancelled: throw ExitCode(128 + (interrupt.signal ?? SIGINT))
            case .destinationExists, .library: throw DevenvError.user(error.message)
            case .fileSystem: throw DevenvError.internal(error.message)
            }
        }
        interrupt.stop()
        // A signal after the last progress report: the clone is complete, but nothing more is wanted.
        if let signal = interrupt.signal { throw ExitCode(128 + signal) }

        guard FileManager.default.fileExists(atPath: Project(directory: destination, workingDirectory: destination).manifestPath) else {
            Terminal.note("devenv: cloned into \(name); it has no .devenv/devenv.toml, so there is no environment to build; create one with `devenv init`\(enter ? " (not entering: there is nothing to enter)" : "")")
            return
        }
        var options = ["-C", destination]
        if let store = global.storePath { options += ["--store", StoreLocation.absolute(store)] }
        try requireApproval(of: destination, name: name)
        if !global.quiet { Terminal.note("devenv: cloned into \(name); building its environment (devenv build)") }
        let status = try DevenvProcess.run(["build"] + options + (global.quiet ? ["-q"] : []) + (global.verbose ? ["-v"] : []))
        guard status == 0 else {
            Terminal.note("devenv: the clone in \(name) is complete, but building its environment failed; fix the problem, then run devenv build in \(name)")
            throw ExitCode(status)
        }
        if enter { try DevenvProcess.exec(["enter"] + options) }
    }

    /// A stranger's manifest that reaches outside the repository is shown before anything of it
    /// runs: the clone stays, nothing is built or entered, and the user is told how to approve.
    /// A manifest that does not parse is left to `devenv build`, which reports it.
    private func requireApproval(of destination: String, name: String) throws {
        let directory = HostPath.physical(destination)
        let project = Project(directory: directory, workingDirectory: directory)
        guard let manifest = try? project.manifest(home: HostUser.current().home) else { return }
        let trust = try ProjectTrust(project: project, manifest: manifest, store: try global.store())
        guard trust.state == .notApproved || trust.state == .changed else { return }
        let store = global.storePath.map { " --store " + ProjectTrust.shellWord(StoreLocation.absolute($0)) } ?? ""
        let place = ProjectTrust.shellWord(global.directory == nil ? name : directory)
        let then = "cd \(place) && devenv trust\(store) && devenv \(enter ? "enter" : "build")\(store)"
        Terminal.note((["devenv: cloned into \(name); its manifest asks for what needs your approval on this machine, so nothing was built:"]
                       + trust.lines()
                       + ["Read \(name)/.devenv/devenv.toml, then: \(then)"]).joined(separator: "\n"))
        throw ExitCode(1)
    }

    /// The directory `git clone URL` would create: the last path component without ".git" (and
    /// without a trailing "/.git" or slashes), after any scheme, user and host.
    static func defaultDirectory(for url: String) -> String? {
        var rest = Substring(url)
        if let scheme = rest.range(of: "://") { rest = rest[scheme.upperBound...] }
        while rest.hasSuffix("/") { rest = rest.dropLast() }
        if rest.hasSuffix("/.git") { rest = rest.dropLast(5) }
        while rest.hasSuffix("/") { rest = rest.dropLast() }
        if let separator = rest.lastIndex(where: { $0 == "/" || $0 == ":" }) { rest = rest[rest.index(after: separator)...] }
        if rest.hasSuffix(".git") { rest = rest.dropLast(4) }
        let name = String(rest)
        return name.isEmpty || name == "." || name == ".." || name.contains("@") ? nil : name
    }
}
