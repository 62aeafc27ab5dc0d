import Foundation
@testable import Sandbox
import TestSupport
import Testing

/// What `RepositoryProtection` binds over itself, read from real repositories made by git.
@Suite(.tags(.rootless)) final class RepositoryProtectionTests {
    let scratch: TemporaryDirectory
    let repository: String

    init() throws {
        scratch = try TemporaryDirectory("protection")
        repository = scratch.path
        try FileManager.default.createDirectory(atPath: repository + "/.devenv", withIntermediateDirectories: true)
        try git("init", "-q", ".")
    }

    @discardableResult
    func git(_ arguments: String...) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/git")
        process.arguments = ["-C", repository] + arguments
        let output = Pipe()
        process.standardOutput = output
        process.standardError = output
        try process.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        let text = String(decoding: data, as: UTF8.self)
        try #require(process.terminationStatus == 0, "git \(arguments): \(text)")
        return text
    }

    func write(_ relative: String, _ content: String = "") throws {
        let path = repository + "/" + relative
        try FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try content.write(toFile: path, atomically: false, encoding: .utf8)
    }

    func described() throws -> [String] {
        try RepositoryProtection.of(repository).paths.map { "\($0.path) \($0.readOnly ? "ro" : "rw")\($0.symlink ? " link" : "")" }
    }

    @Test func aFreshRepository() throws {
        #expect(try described() == [".devenv ro", ".git rw", ".git/commondir ro", ".git/config ro", ".git/hooks ro"])
        // The placeholder is what git assumes without it: git still works, and a new one cannot be made.
        #expect(try String(contentsOfFile: repository + "/.git/commondir", encoding: .utf8) == "./\n")
        try git("-c", "user.email=a@b", "-c", "user.name=a", "commit", "-q", "--allow-empty", "-m", "first")
        #expect(try git("rev-parse", "--git-common-dir").trimmingCharacters(in: .whitespacesAndNewlines) == repository + "/.git")
    }

    /// A `commondir` that is not devenv's: it may be a sandbox's from before, so nothing starts.
    @Test func aForeignCommondirStopsTheStart() throws {
        try write(".git/commondir", "../evil\n")
        #expect { try RepositoryProtection.of(repository) } throws: { error in
            (error as? RepositoryProtection.Failure)?.message.contains("/.git/commondir points the host's git at another directory's") == true
        }
    }

    /// What the configuration names inside the repository: hooks directory (made when missing),
    /// included files and what those name, every path of a command (aliases, filters, fsmonitor).
    @Test func whatTheConfigurationNamesIsReadOnly() throws {
        try git("config", "core.hooksPath", ".husky/_")
        try git("config", "include.path", "../shared.gitconfig")
        try git("config", "alias.lint", "!FOO=1 tools/lint.sh --config lint/rules.toml origin/main")
        try git("config", "core.fsmonitor", "true")
        try write("shared.gitconfig", "[filter \"x\"]\n\tprocess = ./filters/x.py\n[diff \"y\"]\n\ttextconv = python3 scripts/textconv.py\n")
        try write("tools/lint.sh")
        try write("lint/rules.toml")
        try write("filters/x.py")
        try write("scripts/textconv.py")
        #expect(try described() == [
            ".devenv ro", ".git rw", "shared.gitconfig ro", ".git/commondir ro", ".git/config ro", ".git/hooks ro",
            ".husky/_ ro", "filters/x.py ro", "lint/rules.toml ro", "scripts/textconv.py ro", "tools/lint.sh ro",
        ])
        var isDirectory: ObjCBool = false
        #expect(FileManager.default.fileExists(atPath: repository + "/.husky/_", isDirectory: &isDirectory) && isDirectory.boolValue)
    }

    /// A command that does not exist yet would be the sandbox's to create: its nearest existing
    /// directory is read-only, and with none below the root the start fails with the key and the fix.
    @Test func aMissingCommandIsProtectedThroughItsDirectoryOrRefused() throws {
        try write("bin/README")
        try git("config", "filter.x.clean", "bin/clean.sh")
        #expect(try described().contains("bin ro"))
        try git("config", "core.sshCommand", "./ssh-wrapper")
        #expect { try RepositoryProtection.of(self.repository) } throws: { error in
            let message = (error as? RepositoryProtection.Failure)?.message ?? ""
            return message.contains("/.git/config:") && message.contains("core.sshcommand names \(self.repository)/ssh-wrapper, which does not exist")
                && message.contains("--unprotected")
        }
    }

    /// A symlink is protected itself (it cannot be pointed elsewhere) and followed inside.
    @Test func symlinksAreProtectedAndFollowedInside() throws {
        try write("real/hook.sh")
        try FileManager.default.createSymbolicLink(atPath: repository + "/tools", withDestinationPath: "real")
        try git("config", "alias.h", "!tools/hook.sh")
        #expect(try described().contains("tools ro link") && described().contains("real/hook.sh ro"))
    }

    /// Submodules: their checkouts' `.git` files and git directories, and a checkout that is not
    /// there yet (a `.git` made there would be one the host's git recurses into).
    @Test func submodules() throws {
        let upstream = repository + "-upstream"
        defer { try? FileManager.default.removeItem(atPath: upstream) }
        let created = Process()
        created.executableURL = URL(fileURLWithPath: "/bin/sh")
        created.arguments = ["-c", "git init -q \(upstream) && git -C \(upstream) -c user.email=a@b -c user.name=a commit -q --allow-empty -m x"]
        try created.run()
        created.waitUntilExit()
        try git("-c", "protocol.file.allow=always", "submodule", "add", "-q", upstream, "libs/up")
        try write(".gitmodules", try String(contentsOfFile: repository + "/.gitmodules", encoding: .utf8)
                  + "[submodule \"later\"]\n\tpath = later\n\turl = ../later\n")
        try FileManager.default.createDirectory(atPath: repository + "/later", withIntermediateDirectories: true)
        let paths = try described()
        #expect(paths.contains("libs/up/.git ro") && paths.contains(".git/modules ro") && paths.contains("later ro"), "\(paths)")
    }

    /// A configuration git cannot read: the file and line, not a silently partial protection.
    @Test func anUnreadableConfigurationIsNamed() throws {
        try write(".git/config", "[core]\n\tbare = false\n[broken\n")
        #expect { try RepositoryProtection.of(self.repository) } throws: { error in
            (error as? RepositoryProtection.Failure)?.message.hasPrefix(self.repository + "/.git/config:3: ") == true
        }
    }
}
