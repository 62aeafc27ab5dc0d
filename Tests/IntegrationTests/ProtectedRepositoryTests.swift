import Foundation
import TestSupport
import Testing

/// What code inside the sandbox writes must not become code the host runs: git on the host runs
/// `.git/hooks` and the commands `.git/config` names, and devenv applies `.devenv/`. Each test
/// attacks from inside (a `run` in the repository, as any build tool or script there could) and
/// then looks at the host's files. Written for root and for the two unprivileged users.
@Suite(.sandboxScope, .serialized, .tags(.rootless)) struct ProtectedRepositoryTests {
    let project: TemporaryDirectory

    init() throws {
        project = try TemporaryDirectory("protected-repo")
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
        let worktree = try TemporaryDirectory("protected-worktree")
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

    func git(_ arguments: String...) throws {
        let result = try Shell.run("git", ["-C", project.path] + arguments)
        try #require(result.status == 0, "git \(arguments): \(result.output)")
    }

    /// `.git/commondir` would send the host's git to a directory the sandbox made, with its own
    /// config and hooks: devenv makes it first as "./" (the git directory itself), read-only inside.
    @Test func aCommondirCannotBePlantedAndGitStillWorks() throws {
        let result = try run("""
            mkdir -p evil/hooks && printf '[core]\\n\\tfsmonitor = ./evil.sh\\n' > evil/config
            (echo ../evil > .git/commondir) 2>/dev/null && echo planted
            rm -f .git/commondir 2>/dev/null && echo removed
            mv .git/commondir .git/x 2>/dev/null && echo moved
            true
            """)
        #expect(result.status == 0, "\(result.output)")
        #expect(result.stdout == "", "\(result.output)")
        #expect(read(".git/commondir") == "./\n")
        try git("-c", "user.email=a@b", "-c", "user.name=a", "commit", "-q", "--allow-empty", "-m", "after")
        let status = try Shell.run("git", ["-C", project.path, "status", "--porcelain"])
        #expect(status.status == 0 && status.output.contains("?? evil/"), "\(status.output)")
    }

    /// What the configuration names inside the worktree runs on the host too: a husky-style
    /// hooksPath, an alias's script, an included file and the filter it names. All read-only
    /// inside, on full and fast starts; a host edit of the config decides again.
    @Test func whatTheConfigurationNamesCannotBeChangedFromInside() throws {
        try git("config", "core.hooksPath", ".husky/_")
        try git("config", "alias.lint", "!tools/lint.sh --fix")
        try git("config", "include.path", "../team.gitconfig")
        try "[filter \"x\"]\n\tprocess = ./filters/x.py\n".write(toFile: project.path + "/team.gitconfig", atomically: true, encoding: .utf8)
        for file in ["tools/lint.sh", "filters/x.py", "scripts/other.sh"] {
            try FileManager.default.createDirectory(atPath: project.path + "/" + (file as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
            try "#!/bin/sh\n".write(toFile: project.path + "/" + file, atomically: true, encoding: .utf8)
        }
        let attack = """
            for f in .husky/_/pre-commit tools/lint.sh team.gitconfig filters/x.py scripts/other.sh; do
                (echo evil >> "$f") 2>/dev/null && echo "wrote $f"
            done
            mv tools/lint.sh tools/old 2>/dev/null && echo "moved tools/lint.sh"
            true
            """
        // The first start may not leave a record (inputs written this instant); the third is fast.
        var starts: [String] = []
        for _ in 0..<3 {
            let result = try run(attack)
            starts.append(result.stderr)
            #expect(result.stdout == "wrote scripts/other.sh\n", "\(result.output)")
        }
        #expect(starts.last?.hasPrefix("devenv: fast start from ") == true, "\(starts)")
        #expect(!exists(".husky/_/pre-commit") && read("tools/lint.sh") == "#!/bin/sh\n" && read("filters/x.py") == "#!/bin/sh\n")
        // The host points the alias elsewhere: the record's content check sends it to a full start.
        try git("config", "alias.lint", "!scripts/other.sh")
        let result = try run(attack)
        #expect(result.stderr.hasPrefix("devenv: full start: "), "\(result.output)")
        #expect(result.stdout == "wrote tools/lint.sh\nmoved tools/lint.sh\n", "\(result.output)")
    }

    /// A submodule's `.git` file, rewritten, would send the host's `git status` (which recurses
    /// into submodules) to a git directory the sandbox made.
    @Test func aSubmodulesGitFileCannotBeRewritten() throws {
        let upstream = try TemporaryDirectory("protected-upstream")
        let made = try Shell.run("sh", ["-c", "git init -q \(upstream.path) && git -C \(upstream.path) -c user.email=a@b -c user.name=a commit -q --allow-empty -m x"])
        try #require(made.status == 0, "\(made.output)")
        try git("-c", "protocol.file.allow=always", "submodule", "add", "-q", upstream.path, "libs/up")
        let pointer = read("libs/up/.git")
        let result = try run("(echo 'gitdir: ../../evil' > libs/up/.git) 2>/dev/null && echo rewrote; echo ok > libs/up/file && echo wrote")
        #expect(result.stdout == "wrote\n", "\(result.output)")
        #expect(read("libs/up/.git") == pointer)
    }

    /// A symlink the configuration runs through is bound itself: it cannot be pointed elsewhere.
    @Test func aSymlinkOnTheWayIsBoundItself() throws {
        try FileManager.default.createDirectory(atPath: project.path + "/real", withIntermediateDirectories: true)
        try "#!/bin/sh\n".write(toFile: project.path + "/real/hook.sh", atomically: true, encoding: .utf8)
        try FileManager.default.createSymbolicLink(atPath: project.path + "/tools", withDestinationPath: "real")
        try git("config", "alias.h", "!tools/hook.sh")
        let result = try run("""
            mkdir -p evil && ln -sfn evil tools 2>/dev/null; [ "$(readlink tools)" = real ] || echo repointed
            rm tools 2>/dev/null && echo removed
            (echo evil >> tools/hook.sh) 2>/dev/null && echo wrote
            true
            """)
        #expect(result.status == 0 && result.stdout == "", "\(result.output)")
        #expect((try? FileManager.default.destinationOfSymbolicLink(atPath: project.path + "/tools")) == "real")
    }
}
