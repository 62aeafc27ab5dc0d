import Foundation
import Testing

/// What code inside the sandbox writes must not become code the host runs: git on the host runs
/// `.git/hooks` and the commands `.git/config` names, and devenv applies `.devenv/`. Each test
/// attacks from inside (a `run` in the repository, as any build tool or script there could) and
/// then looks at the host's files. Written for root and for the two unprivileged users.
@Suite(.sandboxScope, .serialized) struct ProtectedRepositoryTests {
    let project: TempDir

    init() throws {
        project = try TempDir("protected-repo")
        let initialized = try Shell.run("git", ["init", "-q", project.path])
        try #require(initialized.status == 0, "git init: \(initialized.output)")
        try FileManager.default.createDirectory(atPath: project.path + "/.devenv", withIntermediateDirectories: true)
        try "name = \"mine\"\n".write(toFile: project.path + "/.devenv/devenv.toml", atomically: true, encoding: .utf8)
    }

    static func debian() throws -> String { "\(try TestEnvironment.registry())/fixtures/debian:bookworm" }

    func run(_ script: String, options: [String] = []) throws -> Shell.Result {
        try Shell.run("/usr/bin/env", ["-C", project.path, try TestEnvironment.binary(), "run", "-q", "--store", try SandboxScope.current().store,
                                       "--image", try Self.debian()] + options + ["--", "sh", "-c", script],
                      environment: ["DEVENV_TRACE_START": "1"])
    }

    func read(_ relative: String) -> String? {
        try? String(contentsOfFile: project.path + "/" + relative, encoding: .utf8)
    }

    func exists(_ relative: String) -> Bool { FileManager.default.fileExists(atPath: project.path + "/" + relative) }

    /// Every way in that a script would try; only the ordinary writes may succeed.
    static let attack = """
        for f in .git/hooks/post-commit .git/config .devenv/devenv.toml .devenv/devenv.lock; do
            (echo 'evil' >> "$f") 2>/dev/null && echo "wrote $f"
        done
        mv .git .git-moved 2>/dev/null && echo "moved .git"
        rm -rf .git/hooks 2>/dev/null; [ -d .git/hooks ] || echo "removed .git/hooks"
        mv .git/config .git/config-old 2>/dev/null && echo "moved .git/config"
        mv .devenv .devenv-old 2>/dev/null && echo "moved .devenv"
        echo ok > .git/scratch && echo "wrote .git/scratch"
        echo ok > file && echo "wrote file"
        """

    static let onlyOrdinaryWrites = "wrote .git/scratch\nwrote file\n"

    func expectHostUntouched(config: String?, sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(!exists(".git/hooks/post-commit"), sourceLocation: sourceLocation)
        #expect(read(".git/config") == config, sourceLocation: sourceLocation)
        #expect(read(".devenv/devenv.toml") == "name = \"mine\"\n", sourceLocation: sourceLocation)
        #expect(!exists(".devenv/devenv.lock") && !exists(".git-moved") && !exists(".devenv-old"), sourceLocation: sourceLocation)
    }

    @Test func hooksConfigAndDevenvCannotBeChangedFromInside() throws {
        let config = read(".git/config")
        let result = try run(Self.attack)
        #expect(result.status == 0, "\(result.output)")
        #expect(result.stdout == Self.onlyOrdinaryWrites, "\(result.output)")
        expectHostUntouched(config: config)
        #expect(read("file") == "ok\n" && read(".git/scratch") == "ok\n", "ordinary writes reach the host")
    }

    /// The same record-driven start the launcher takes the second time must protect the same way.
    @Test func theFastStartProtectsToo() throws {
        let config = read(".git/config")
        let first = try run("true")
        #expect(first.status == 0, "\(first.output)")
        let recorded = try run("true")
        #expect(recorded.status == 0, "\(recorded.output)")
        let fast = try run(Self.attack)
        #expect(fast.stderr.hasPrefix("devenv: fast start from "), "\(fast.output)")
        #expect(fast.stdout == Self.onlyOrdinaryWrites, "\(fast.output)")
        expectHostUntouched(config: config)
    }

    /// A repository without `.git/hooks` (git works without one) gets an empty one before the
    /// sandbox starts, so nothing inside can create it full of hooks.
    @Test func aMissingHooksDirectoryIsMadeAndProtected() throws {
        try FileManager.default.removeItem(atPath: project.path + "/.git/hooks")
        let result = try run("mkdir -p .git/hooks 2>/dev/null; (echo evil > .git/hooks/pre-commit) 2>/dev/null && echo planted; true")
        #expect(result.status == 0, "\(result.output)")
        #expect(result.stdout == "", "\(result.output)")
        var isDirectory: ObjCBool = false
        #expect(FileManager.default.fileExists(atPath: project.path + "/.git/hooks", isDirectory: &isDirectory) && isDirectory.boolValue)
        #expect(!exists(".git/hooks/pre-commit"))
    }

    /// Removing the hooks directory on the host after a record was written: the next start is a
    /// full one that protects the new directory.
    @Test func aReplacedHooksDirectoryInvalidatesTheRecord() throws {
        #expect(try run("true").status == 0)
        #expect(try run("true").status == 0)
        try FileManager.default.removeItem(atPath: project.path + "/.git/hooks")
        let result = try run("(echo evil > .git/hooks/pre-commit) 2>/dev/null && echo planted; true")
        #expect(result.stderr.hasPrefix("devenv: full start: "), "\(result.output)")
        #expect(result.stdout == "", "\(result.output)")
        #expect(!exists(".git/hooks/pre-commit"))
    }

    /// In a linked worktree or a submodule `.git` is a file naming the git directory; rewritten, it
    /// would send the host's git to one the sandbox made.
    @Test func aGitdirPointerFileIsReadOnly() throws {
        let worktree = try TempDir("protected-worktree")
        let pointer = "gitdir: \(project.path)/.git\n"
        try pointer.write(toFile: worktree.path + "/.git", atomically: true, encoding: .utf8)
        let result = try Shell.run("/usr/bin/env", ["-C", worktree.path, try TestEnvironment.binary(), "run", "-q", "--store",
                                                    try SandboxScope.current().store, "--image", try Self.debian(), "--", "sh", "-c",
                                                    "(echo 'gitdir: /tmp/evil' > .git) 2>/dev/null && echo rewrote; echo ok > file && echo wrote file"])
        #expect(result.status == 0, "\(result.output)")
        #expect(result.stdout == "wrote file\n", "\(result.output)")
        #expect((try? String(contentsOfFile: worktree.path + "/.git", encoding: .utf8)) == pointer)
    }

    /// The documented opt-out: `--unprotected` leaves them writable (hook installers, `git config`).
    @Test func unprotectedLeavesThemWritable() throws {
        let result = try run("echo '#!/bin/sh' > .git/hooks/pre-commit && echo '[x]' >> .git/config && echo '# note' >> .devenv/devenv.toml && echo done",
                             options: ["--unprotected"])
        #expect(result.status == 0, "\(result.output)")
        #expect(result.stdout == "done\n", "\(result.output)")
        #expect(read(".git/hooks/pre-commit") == "#!/bin/sh\n")
        #expect(read(".devenv/devenv.toml") == "name = \"mine\"\n# note\n")
        #expect(result.stderr.hasPrefix("devenv: full start: "), "--unprotected is never a recorded start: \(result.output)")
    }
}
