import ArgumentParser
import Environments
import Foundation
import ImageStore
import Manifest
import OCI
import Templates

#if canImport(Glibc)
import Glibc
#endif

struct Init: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Write .devenv/devenv.toml for the project from a template.",
        discussion: """
            The project is the git repository containing the working directory (or -C DIR). \
            init writes .devenv/devenv.toml from the template, copies the template's hello-world \
            files next to your code (a file that exists already is never overwritten), adds what \
            the hello-world creates (build output, .pgdata…) to .gitignore, and prints the next \
            command. Nothing under .devenv/ is ignored: commit devenv.toml and, once devenv lock \
            or devenv build has written it, devenv.lock; devenv keeps all state in its store.

            Examples:
              devenv init                          # the minimal template
              devenv init --template python
              devenv init --template postgres --base registry.example.com/mirror/debian:bookworm
              devenv init --template c --bootstrap debian:bookworm   # no registry: mmdebstrap
              devenv init --list
              devenv init --list --json
            """
    )

    @OptionGroup var global: GlobalOptions

    @Option(help: ArgumentHelp("The template to start from (see --list).", valueName: "name"))
    var template = Template.defaultName

    @Flag(help: "List the templates with what each sets up, and write nothing.")
    var list = false

    @Flag(help: "With --list: print the templates as JSON.")
    var json = false

    @Flag(help: "Overwrite an existing .devenv/devenv.toml.")
    var force = false

    @Option(help: ArgumentHelp("Use this base image instead of the template's (e.g. your registry's mirror of debian:bookworm).", valueName: "ref"))
    var base: String?

    @Option(help: ArgumentHelp("Build the base from the Debian mirror with mmdebstrap instead of pulling an image, for machines that reach no registry.", valueName: "debian:suite"))
    var bootstrap: String?

    func validate() throws {
        if json, !list { throw ValidationError("--json goes with --list") }
        if base != nil, bootstrap != nil { throw ValidationError("--base and --bootstrap cannot be used together") }
        if let bootstrap, Manifest.bootstrapProblem(bootstrap) != nil {
            throw ValidationError("--bootstrap takes debian:SUITE with a lowercase Debian suite, e.g. debian:bookworm")
        }
    }

    /// The `[base]` line replacing the template's, if asked for.
    private var baseLine: String? {
        if let base { return "image = \"\(base)\"" }
        return bootstrap.map { "bootstrap = \"\($0)\"" }
    }

    func run() throws {
        if list { return try printList() }
        guard let chosen = Template.named(template) else {
            throw DevenvError.user("unknown template \"\(template)\"; the templates are: \(Template.all.map(\.name).joined(separator: ", ")) (devenv init --list describes them)")
        }
        if let base { _ = try Reference(parsing: base) }
        try global.enterDirectory()
        let project = try Project.discover().directory
        let manifestPath = project + "/.devenv/devenv.toml"
        let existed = FileManager.default.fileExists(atPath: manifestPath)
        if existed, !force {
            throw DevenvError.user("\(manifestPath) exists already; devenv init --force overwrites it (your other files stay as they are)")
        }

        let written = [".devenv/devenv.toml"] + chosen.files.map(\.path).filter { !FileManager.default.fileExists(atPath: project + "/" + $0) }
        try refuseSymlinks(written + (chosen.ignore.isEmpty ? [] : [".gitignore"]), project: project)

        var report: [String] = []
        try write(chosen.manifest(base: baseLine), to: manifestPath, mode: 0o644)
        let baseNote = base.map { ", base \($0)" } ?? bootstrap.map { ", base bootstrapped from \($0)" } ?? ""
        report.append("\(existed ? "overwrote" : "wrote") .devenv/devenv.toml (template \(chosen.name)\(baseNote))")
        for file in chosen.files {
            let path = project + "/" + file.path
            if FileManager.default.fileExists(atPath: path) {
                report.append("kept your \(file.path) (not overwritten)")
            } else {
                try write(file.contents, to: path, mode: file.mode)
                report.append("added \(file.path)")
            }
        }
        let ignored = try addToGitignore(chosen.ignore, project: project)
        if !ignored.isEmpty { report.append("added \(ignored.joined(separator: " ")) to .gitignore") }

        guard !global.quiet else { return }
        for line in report { Terminal.out(line) }
        let check = "devenv run -- " + (chosen.check.contains("&&") ? "sh -c '\(chosen.check)'" : chosen.check)
        Terminal.out(chosen.hasServices
            ? "next: devenv up -d (starts its services), then \(check) proves it works; devenv enter for a shell, devenv down to stop"
            : "next: devenv build, then devenv enter (a shell in the environment); \(check) proves it works")
    }

    private func printList() throws {
        if json {
            let entries = Template.all.map { template -> [String: Any] in
                ["name": template.name, "description": template.description, "check": template.check, "services": template.hasServices,
                 "files": template.files.map(\.path), "default": template.name == Template.defaultName]
            }
            let data = try JSONSerialization.data(withJSONObject: entries, options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes])
            Terminal.out(String(decoding: data, as: UTF8.self))
            return
        }
        let width = Template.all.map(\.name.count).max() ?? 0
        for template in Template.all {
            let marker = template.name == Template.defaultName ? " (default)" : ""
            Terminal.out(template.name.padding(toLength: width + 2, withPad: " ", startingAt: 0) + template.description + marker)
        }
    }

    private func write(_ text: String, to path: String, mode: Int) throws {
        do {
            try FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
            try Data(text.utf8).write(to: URL(fileURLWithPath: path), options: .atomic)
            try FileManager.default.setAttributes([.posixPermissions: mode], ofItemAtPath: path)
        } catch {
            throw DevenvError.user("cannot write \(path): \(error.localizedDescription)")
        }
    }

    /// A cloned repository's symlink can point anywhere (`~/.bashrc`, another project): init
    /// writes files and directories of the project itself, never through a link. Checked before
    /// anything is written, so a refusal leaves the project as it was.
    private func refuseSymlinks(_ relativePaths: [String], project: String) throws {
        for relative in relativePaths {
            var path = project
            for component in relative.split(separator: "/") {
                path += "/" + component
                var status = stat()
                guard lstat(path, &status) == 0 else { break }
                if status.st_mode & S_IFMT == S_IFLNK {
                    throw DevenvError.user("""
                        \(path) is a symlink; devenv init does not write through it (it could point outside the project)
                          fix: replace it with a regular \(component == relative.split(separator: "/").last ? "file" : "directory"), or remove it, and run devenv init again
                        """)
                }
            }
        }
    }

    /// Appends the lines .gitignore does not have yet and returns them.
    private func addToGitignore(_ lines: [String], project: String) throws -> [String] {
        guard !lines.isEmpty else { return [] }
        let path = project + "/.gitignore"
        // O_NOFOLLOW: a symlink put there since the check above is refused, not followed.
        // O_NONBLOCK: a fifo cannot hang init.
        let fd = open(path, O_RDWR | O_APPEND | O_CREAT | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC, 0o644)
        guard fd >= 0 else {
            let reason = errno == ELOOP ? "it is a symlink, which devenv init does not write through" : String(cString: strerror(errno))
            throw DevenvError.user("cannot add to \(path): \(reason)\n  fix: make it a regular file")
        }
        let file = FileHandle(fileDescriptor: fd, closeOnDealloc: true)
        var status = stat()
        guard fstat(fd, &status) == 0, status.st_mode & S_IFMT == S_IFREG else {
            throw DevenvError.user("cannot add to \(path): it is not a regular file\n  fix: make it a regular file")
        }
        do {
            let current = String(decoding: try file.readToEnd() ?? Data(), as: UTF8.self)
            let present = Set(current.split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) })
            let missing = lines.filter { !present.contains($0) }
            guard !missing.isEmpty else { return [] }
            let separator = current.isEmpty || current.hasSuffix("\n") ? "" : "\n"
            try file.write(contentsOf: Data((separator + missing.joined(separator: "\n") + "\n").utf8))
            return missing
        } catch {
            throw DevenvError.user("cannot add to \(path): \(error.localizedDescription)")
        }
    }
}
