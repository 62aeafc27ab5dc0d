import Foundation
import TestSupport
import Testing

/// `devenv clone` of bare repositories served by `git daemon` and by file:// URLs: the clone, its
/// progress, what a repository without .devenv/ gets, failures that leave nothing behind, and
/// the newcomer's path from a URL to a command running in the project's environment.
@Suite struct CloneTests {
    let temp: TemporaryDirectory
    /// Bare repositories: project.git (with a .devenv/ naming the test registry's Debian) and
    /// plain.git (without).
    var served: String { temp.path + "/served" }
    /// Where the clones go: empty at the start of each test.
    var work: String { temp.path + "/work" }

    static let hello = "hello from the newcomer's project"

    init() throws {
        temp = try TemporaryDirectory("clone")
        try FileManager.default.createDirectory(atPath: work, withIntermediateDirectories: true)
        try makeBareRepository("plain", files: ["README": "no environment here\n"])
        try makeBareRepository("project", files: [
            ".devenv/devenv.toml": "name = \"newcomer\"\n\n[base]\nimage = \"\(try TestEnvironment.registry())/fixtures/debian:bookworm\"\n",
            "hello.sh": "echo \"\(Self.hello)\"\n",
        ])
        try makeBareRepository("broken", files: [".devenv/devenv.toml": "[base]\nimgae = \"debian:bookworm\"\n"])
    }

    func makeBareRepository(_ name: String, files: [String: String]) throws {
        let source = temp.path + "/source-" + name
        for (path, contents) in files {
            let full = source + "/" + path
            try FileManager.default.createDirectory(atPath: (full as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
            try contents.write(toFile: full, atomically: true, encoding: .utf8)
        }
        for arguments in [["init", "-q", "-b", "main", source], ["-C", source, "add", "."],
                          ["-C", source, "-c", "user.name=t", "-c", "user.email=t@e", "commit", "-q", "-m", "init"],
                          ["clone", "-q", "--bare", source, "\(served)/\(name).git"]] {
            let result = try Shell.run("git", arguments)
            try #require(result.status == 0, "git \(arguments.joined(separator: " ")): \(result.output)")
        }
    }

    /// devenv clone ARGS, run in `work`.
    func clone(_ arguments: [String], stdin: String? = nil) throws -> Shell.Result {
        try Shell.run("/usr/bin/env", ["-C", work, try TestEnvironment.binary(), "clone"] + arguments, stdin: stdin)
    }

    func workContents() throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: work).sorted()
    }

    @Test func aRepositoryWithoutDevenvIsClonedOverGitDaemonAndSaysSo() throws {
        let daemon = try GitDaemon(serving: served)
        let result = try clone(["\(daemon.url)/plain.git"])
        #expect(result.status == 0, "\(result.output)")
        #expect(result.stderr.contains("Cloning into 'plain'..."), "\(result.stderr)")
        #expect(result.stderr.contains("Receiving objects: 100% (3/3)"), "\(result.stderr)")
        #expect(result.stderr.contains("Updating files: 100% (1/1), done."), "\(result.stderr)")
        #expect(result.stderr.contains("devenv: cloned into plain; it has no .devenv/devenv.toml, so there is no environment to build; create one with `devenv init`"), "\(result.stderr)")
        #expect(try String(contentsOfFile: work + "/plain/README", encoding: .utf8) == "no environment here\n")
        #expect(try Shell.run("git", ["-C", work + "/plain", "status", "--porcelain"]).stdout.isEmpty)
        #expect(try workContents() == ["plain"])
    }

    @Test func aQuietFileURLCloneIntoANamedDirectoryPrintsOnlyTheResult() throws {
        let result = try clone(["-q", "file://\(served)/plain.git", "nested/copy"])
        #expect(result.status == 0, "\(result.output)")
        #expect(result.stdout.isEmpty)
        #expect(result.stderr == "devenv: cloned into nested/copy; it has no .devenv/devenv.toml, so there is no environment to build; create one with `devenv init`\n")
        #expect(FileManager.default.fileExists(atPath: work + "/nested/copy/README"))
        #expect(try Shell.run("git", ["-C", work + "/nested/copy", "config", "remote.origin.url"]).stdout == "file://\(served)/plain.git\n")
    }

    @Test func aFailedCloneLeavesNoDirectory() throws {
        let missing = try clone(["file://\(served)/absent.git"])
        #expect(missing.status == 1)
        #expect(missing.stderr.contains("devenv: error: cannot clone file://\(served)/absent.git: "), "\(missing.stderr)")
        #expect(try workContents() == [])

        let port = try GitDaemon.freePort()
        let unreachable = try clone(["git://127.0.0.1:\(port)/plain.git", "deep/copy"])
        #expect(unreachable.status == 1)
        #expect(unreachable.stderr.contains("devenv: error: cannot clone git://127.0.0.1:\(port)/plain.git: "), "\(unreachable.stderr)")
        #expect(try workContents() == [])

        try FileManager.default.createDirectory(atPath: work + "/plain", withIntermediateDirectories: true)
        try "mine\n".write(toFile: work + "/plain/notes", atomically: true, encoding: .utf8)
        let taken = try clone(["file://\(served)/plain.git"])
        #expect(taken.status == 1)
        #expect(taken.stderr.contains("destination path \(work)/plain already exists and is not an empty directory"), "\(taken.stderr)")
        #expect(try FileManager.default.contentsOfDirectory(atPath: work + "/plain") == ["notes"])

        let noName = try clone(["file:///"])
        #expect(noName.status == 2)
        #expect(noName.stderr.contains("give one, devenv clone URL DIR"), "\(noName.stderr)")
    }

    /// A socket on 127.0.0.1 that listens and never accepts: the kernel completes connections to
    /// it, and nothing ever answers. Returns the descriptor and the port.
    func silentServer() throws -> (descriptor: Int32, port: UInt16) {
        let silent = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        try #require(silent >= 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let listening = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(silent, $0, length) == 0 && getsockname(silent, $0, &length) == 0 }
        } && listen(silent, 16) == 0
        try #require(listening)
        return (silent, UInt16(bigEndian: address.sin_port))
    }

    /// Issue 12: a silent server ends the clone after the timeout with a message that says so,
    /// over git://, http://, https:// (a TLS handshake that never gets an answer) and ssh://
    /// (libssh2 waiting for the server's banner on a socket it reads itself), and leaves nothing
    /// behind.
    @Test func aSilentServerEndsTheCloneWithATimeout() throws {
        let (silent, port) = try silentServer()
        defer { close(silent) }
        let urls = ["git", "http", "https", "ssh"].map { "\($0)://\($0 == "ssh" ? "git@" : "")127.0.0.1:\(port)/project.git" }
        let clones = try urls.enumerated().map { index, url in
            let process = Process()
            process.executableURL = URL(fileURLWithPath: "/usr/bin/timeout")
            process.arguments = ["120", try TestEnvironment.binary(), "clone", url, "copy-\(index)"]
            process.currentDirectoryURL = URL(fileURLWithPath: work)
            let errors = Pipe()
            process.standardError = errors
            try process.run()
            return (url, process, errors)
        }
        for (url, process, errors) in clones {
            let stderr = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            process.waitUntilExit()
            #expect(process.terminationStatus == 1, "\(url): \(stderr)")
            #expect(stderr.contains("cannot clone \(url): the git server at 127.0.0.1:\(port) stopped answering (nothing for 20 s)"), "\(stderr)")
            #expect(stderr.contains("fix: check the URL and that the server is up"), "\(stderr)")
        }
        #expect(try workContents() == [])
    }

    /// A server that accepts the connection and never answers: libgit2 waits without reporting
    /// progress, so Ctrl-C cannot be seen by the clone; devenv removes its directory itself.
    @Test func anInterruptedCloneOfASilentServerLeavesNothing() throws {
        let (silent, port) = try silentServer()
        defer { close(silent) }

        let process = Process()
        process.executableURL = URL(fileURLWithPath: try TestEnvironment.binary())
        process.arguments = ["clone", "git://127.0.0.1:\(port)/project.git"]
        process.currentDirectoryURL = URL(fileURLWithPath: work)
        process.standardError = FileHandle.nullDevice
        try process.run()
        for _ in 0..<50 where try workContents().isEmpty { Thread.sleep(forTimeInterval: 0.1) }
        #expect(try workContents() == ["project.devenv-clone-\(process.processIdentifier)"])
        let interrupted = ContinuousClock.now
        kill(process.processIdentifier, SIGINT)
        process.waitUntilExit()
        #expect(process.terminationStatus == 130)
        #expect(ContinuousClock.now - interrupted < .seconds(10))
        #expect(try workContents() == [])
    }

    /// The newcomer: one command from a URL to a built environment, then the project's script runs in it.
    @Test func aNewcomerClonesBuildsAndRunsTheProjectsHelloWorld() throws {
        let daemon = try GitDaemon(serving: served)
        let store = temp.path + "/store"
        let result = try clone(["--store", store, "\(daemon.url)/project.git"])
        #expect(result.status == 0, "\(result.output)")
        #expect(result.stderr.contains("devenv: cloned into project; building its environment (devenv build)"), "\(result.stderr)")
        #expect(try workContents() == ["project"])

        let run = try Shell.run(try TestEnvironment.binary(), ["run", "-C", work + "/project", "--store", store, "-q", "--", "sh", "hello.sh"])
        #expect(run.status == 0, "\(run.output)")
        #expect(run.stdout == Self.hello + "\n")
    }

    @Test func enterOpensTheEnvironmentsShellAfterTheBuild() throws {
        let store = temp.path + "/store"
        let result = try clone(["-q", "--store", store, "--enter", "file://\(served)/project.git"],
                               stdin: "echo \"inside $DEVENV_NAME at $(pwd)\"\nexit 3\n")
        #expect(result.status == 3, "\(result.output)")
        let physical = URL(fileURLWithPath: work + "/project").resolvingSymlinksInPath().path
        #expect(result.stdout.contains("inside newcomer at \(physical)"), "\(result.output)")
    }

    @Test func aFailingBuildKeepsTheCloneAndExitsWithTheBuildsStatus() throws {
        let result = try clone(["--store", temp.path + "/store", "file://\(served)/broken.git"])
        #expect(result.status == 1, "\(result.output)")
        #expect(result.stderr.contains("unknown key \"imgae\""), "\(result.stderr)")
        #expect(result.stderr.contains("devenv: the clone in broken is complete, but building its environment failed"), "\(result.stderr)")
        #expect(FileManager.default.fileExists(atPath: work + "/broken/.devenv/devenv.toml"))
    }
}
