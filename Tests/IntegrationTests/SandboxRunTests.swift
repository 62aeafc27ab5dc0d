import Foundation
import TestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// `devenv run` and `devenv enter` against images from the test registry. The suite runs as
/// root in CI and again as an unprivileged user with and without /etc/subuid ranges; every
/// expectation is written for whoever runs it.
@Suite(.sandboxScope, .tags(.rootless)) struct SandboxRunTests {
    /// The project directory: the working directory of every devenv run in a test.
    let project: TemporaryDirectory

    init() throws {
        project = try TemporaryDirectory("sandbox-project")
    }

    static func debian() throws -> String { "\(try TestEnvironment.registry())/fixtures/debian:bookworm" }

    /// Runs devenv in `directory` (default: the project) with the suite's store.
    func devenv(_ arguments: [String], in directory: String? = nil, stdin: String? = nil,
                environment: [String: String] = [:]) throws -> Shell.Result {
        let store = try SandboxScope.current().store
        let command = Array(arguments.prefix(1)) + ["--store", store] + arguments.dropFirst()
        return try Shell.run("/usr/bin/env", ["-C", directory ?? project.path, try TestEnvironment.binary()] + command,
                             environment: environment, stdin: stdin)
    }

    /// `devenv run -q --image IMAGE OPTIONS -- COMMAND`.
    func run(_ command: [String], image: String? = nil, options: [String] = [], in directory: String? = nil,
             stdin: String? = nil, environment: [String: String] = [:]) throws -> Shell.Result {
        try devenv(["run", "-q", "--image", try image ?? Self.debian()] + options + ["--"] + command,
                   in: directory, stdin: stdin, environment: environment)
    }

    func sh(_ script: String, image: String? = nil, options: [String] = [], in directory: String? = nil) throws -> Shell.Result {
        try run(["sh", "-c", script], image: image, options: options, in: directory)
    }

    @Test func theCommandsExitStatusIsDevenvs() throws {
        #expect(try sh("exit 42").status == 42)
        #expect(try run(["true"]).status == 0)
    }

    @Test func aCommandKilledBySignalNExits128PlusN() throws {
        #expect(try sh("kill -TERM $$").status == 143)
        #expect(try sh("kill -KILL $$").status == 137)
    }

    @Test func pipesWorkBothWays() throws {
        let result = try run(["tr", "a-z", "A-Z"], stdin: "hello\nworld\n")
        #expect(result.status == 0, "\(result.output)")
        #expect(result.stdout == "HELLO\nWORLD\n")
        // A megabyte each way: more than a pipe holds, so both directions really stream.
        let large = String(repeating: "0123456789abcdef\n", count: 64 * 1024)
        #expect(try run(["wc", "-c"], stdin: large).stdout == "\(large.utf8.count)\n")
        #expect(try sh("head -c 1048576 /dev/zero").stdout.utf8.count == 1_048_576)
    }

    @Test func aMissingCommandExits127AndSaysSo() throws {
        let result = try run(["no-such-command"])
        #expect(result.status == 127)
        #expect(result.stderr.contains("no-such-command") && result.stderr.contains("ENOENT"), "\(result.stderr)")
        let notExecutable = try run(["/etc/hostname"])
        #expect(notExecutable.status == 126, "\(notExecutable.output)")
    }

    /// As root, root inside is no host id that owns anything (an image's or a cloned project's rc
    /// files run there too), while the repository keeps showing and getting the host's owners
    /// through an idmapped bind. Rootless, the user's own id is themself on the host.
    @Test func asRootTheCommandIsRootOfIdsThatOwnNothingOnTheHost() throws {
        let hostFile = project.path + "/of-user-1000"
        try Data("x\n".utf8).write(to: URL(fileURLWithPath: hostFile))
        let otherOwner = getuid() == 0 ? chown(hostFile, 1000, 1000) == 0 : true
        let result = try sh("cat /proc/self/uid_map; stat -c '%u:%g' of-user-1000 .; touch made-inside")
        try #require(result.status == 0, "\(result.output)")
        let lines = result.stdout.split(separator: "\n").map { $0.split(whereSeparator: \.isWhitespace).map(String.init) }
        try #require(lines.count >= 3, "\(result.stdout)")
        let maps = lines.dropLast(2).compactMap { line in line.count == 3 ? line.compactMap { UInt64($0) } : nil }
        if getuid() == 0 {
            #expect(maps.count == 1 && maps[0][0] == 0 && maps[0][1] >= 100_000 && maps[0][2] == 65536,
                    "root inside is host id \(maps), an id of the host's own")
            #expect(otherOwner && lines.suffix(2).map { $0.joined() } == ["1000:1000", "0:0"], "\(result.stdout)")
        } else {
            #expect(maps.contains { $0[0] == UInt64(getuid()) && $0[1] == UInt64(getuid()) && $0[2] == 1 }, "\(maps)")
            #expect(lines.suffix(2).map { $0.joined() } == ["\(getuid()):\(getgid())", "\(getuid()):\(getgid())"], "\(result.stdout)")
        }
        var info = stat()
        try #require(lstat(project.path + "/made-inside", &info) == 0)
        #expect(info.st_uid == getuid() && info.st_gid == getgid(), "made inside, owned by \(info.st_uid):\(info.st_gid) on the host")
    }

    @Test func youAreYourselfAndFilesYouCreateInTheRepositoryAreYours() throws {
        let result = try sh("id -u; id -g; id -un; touch made-inside; mkdir dir-inside")
        try #require(result.status == 0, "\(result.output)")
        let name = String(cString: getpwuid(getuid()).pointee.pw_name)
        #expect(result.stdout == "\(getuid())\n\(getgid())\n\(name)\n")
        for path in ["made-inside", "dir-inside"] {
            var info = stat()
            try #require(lstat(project.path + "/" + path, &info) == 0, "\(path) was not created in the project on the host")
            #expect(info.st_uid == getuid() && info.st_gid == getgid())
        }
    }

    @Test func theRepositoryIsMountedAtItsPathAndTheWorkingDirectoryIsKept() throws {
        let repository = project.path + "/repo"
        try FileManager.default.createDirectory(atPath: repository + "/src/lib", withIntermediateDirectories: true)
        try #require(try Shell.run("git", ["init", "-q", repository]).status == 0)
        try Data("top\n".utf8).write(to: URL(fileURLWithPath: repository + "/README"))
        let result = try sh("pwd; cat \(repository)/README; echo written > \(repository)/out", in: repository + "/src/lib")
        try #require(result.status == 0, "\(result.output)")
        #expect(result.stdout == "\(repository)/src/lib\ntop\n")
        #expect(try String(contentsOfFile: repository + "/out", encoding: .utf8) == "written\n")
        // Outside the repository nothing of the host is there: the parent directory is empty.
        #expect(try sh("ls -A \(project.path)", in: repository).stdout == "repo\n")
    }

    @Test func theHostnameIsTheEnvironmentsName() throws {
        let directory = project.path + "/My_Project"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        #expect(try run(["hostname"], in: directory).stdout == "my-project\n")
    }

    @Test func homePersistsPerProject() throws {
        let home = String(cString: getpwuid(getuid()).pointee.pw_dir)
        let first = try sh("echo $HOME; echo kept > ~/note")
        try #require(first.status == 0, "\(first.output)")
        #expect(first.stdout == (getuid() == 0 ? "/root\n" : "\(home)\n"))
        #expect(try sh("cat ~/note").stdout == "kept\n")
        let other = project.path + "/other"
        try FileManager.default.createDirectory(atPath: other, withIntermediateDirectories: true)
        #expect(try sh("cat ~/note", in: other).status != 0, "another project shares the home")
    }

    @Test func theImagesEnvironmentAndTheCallersTerminalSettingsArePassed() throws {
        let result = try run(["env"], environment: ["TERM": "xterm-direct", "LANG": "C.UTF-8", "TZ": "Europe/Berlin",
                                                    "COLORTERM": "truecolor", "DEVENV_TEST_SECRET": "leak"])
        let variables = Set(result.stdout.split(separator: "\n").map(String.init))
        for expected in ["TERM=xterm-direct", "LANG=C.UTF-8", "TZ=Europe/Berlin", "COLORTERM=truecolor"] {
            #expect(variables.contains(expected), "\(expected) missing: \(result.stdout)")
        }
        #expect(!result.stdout.contains("DEVENV_TEST_SECRET"))
        #expect(variables.contains { $0.hasPrefix("PATH=") && $0.contains("/usr/bin") })
    }

    @Test func theRootFilesystemIsReadOnlyAndWritableScratchIsTmpfs() throws {
        let result = try sh("touch /usr/x 2>&1; for d in /tmp /var/tmp /run; do touch $d/ok && echo $d writable; done")
        #expect(result.stdout.contains("Read-only file system"), "\(result.output)")
        #expect(result.stdout.contains("/tmp writable\n/var/tmp writable\n/run writable\n"), "\(result.output)")
    }

    @Test func rootGivesAWritableThrowawayRoot() throws {
        let result = try run(["sh", "-c", "id -u; echo changed > /usr/local/marker && cat /usr/local/marker; touch by-root"], options: ["--root"])
        try #require(result.status == 0, "\(result.output)")
        #expect(result.stdout == "0\nchanged\n")
        #expect(try sh("test -e /usr/local/marker").status == 1, "a --root change persisted")
        // Root inside is the invoking user outside.
        var info = stat()
        #expect(lstat(project.path + "/by-root", &info) == 0 && info.st_uid == getuid())
    }

    @Test func networkNoneHasOnlyLoopbackUp() throws {
        let port = try TestEnvironment.registry().split(separator: ":").last.map(String.init) ?? "5000"
        let probe = "cat /proc/net/dev | tail -n +3 | cut -d: -f1 | tr -d ' '; "
            + "bash -c 'exec 3<>/dev/tcp/127.0.0.1/\(port)' 2>&1 && echo reached"
        let none = try run(["sh", "-c", probe], options: ["--network", "none"])
        #expect(none.stdout.hasPrefix("lo\n"), "\(none.output)")
        #expect(none.stdout.contains("Connection refused"), "loopback must be up: \(none.output)")
        #expect(!none.stdout.contains("reached"))
        let host = try run(["sh", "-c", probe])
        #expect(host.stdout.contains("reached"), "the host's registry must be reachable with the host network: \(host.output)")
    }

    @Test func networkPrivateReachesOutButNotTheHostLoopback() throws {
        let port = try TestEnvironment.registry().split(separator: ":").last.map(String.init) ?? "5000"
        let probe = "cat /proc/net/dev | tail -n +3 | cut -d: -f1 | tr -d ' ' | sort; grep nameserver /etc/resolv.conf; "
            + "bash -c 'exec 3<>/dev/tcp/127.0.0.1/\(port)' 2>/dev/null && echo loopback reached; "
            + "bash -c 'exec 3<>/dev/tcp/10.0.2.2/\(port)' 2>/dev/null && echo host alias reached; "
            + "timeout 10 bash -c 'exec 3<>/dev/tcp/deb.debian.org/80' && echo internet reached"
        let result = try run(["sh", "-c", probe], options: ["--network", "private"])
        if getuid() != 0, !RootlessBuildTests.hasSubordinateIDs() {
            #expect(result.status == 1 && result.stderr.contains("a private network needs id 0"), "\(result.output)")
            #expect(result.stderr.contains("fix: add subordinate ids"), "\(result.output)")
            let asRoot = try run(["sh", "-c", probe], options: ["--network", "private", "--root"])
            #expect(asRoot.stdout == "lo\ntap0\nnameserver 10.0.2.3\ninternet reached\n", "\(asRoot.output)")
            return
        }
        #expect(result.stdout == "lo\ntap0\nnameserver 10.0.2.3\ninternet reached\n", "\(result.output)")
    }

    @Test func theWholeHostCannotBeTheProject() throws {
        let result = try run(["true"], in: "/")
        #expect(result.status == 1)
        #expect(result.stderr.contains("project directory would be /"), "\(result.stderr)")
    }

    @Test func anUnknownNetworkModeIsAUsageError() throws {
        let result = try run(["true"], options: ["--network", "wifi"])
        #expect(result.status == 2, "\(result.output)")
        #expect(result.stderr.contains("--network must be one of: host, none, private"))
    }

    @Test func theWarmPathReadsOnlyTheStore() throws {
        // A store that has the image under the name of a registry nobody listens on (port 9,
        // discard): running it works only if devenv never asks that registry.
        let temp = try TemporaryDirectory("sandbox-warm")
        let store = temp.path + "/store"
        let pull = try Shell.devenv(["pull", "-q", try Self.debian()], store: store)
        try #require(pull.status == 0, "\(pull.output)")
        let indexPath = store + "/oci/index.json"
        var index = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: indexPath))) as? [String: Any])
        var manifests = try #require(index["manifests"] as? [[String: Any]])
        var entry = try #require(manifests.first)
        entry["annotations"] = ["org.opencontainers.image.ref.name": "127.0.0.1:9/offline/debian:bookworm"]
        manifests.append(entry)
        index["manifests"] = manifests
        try JSONSerialization.data(withJSONObject: index).write(to: URL(fileURLWithPath: indexPath))
        let result = try Shell.run("/usr/bin/env", ["-C", project.path, try TestEnvironment.binary(), "run", "--store", store,
                                                    "--image", "127.0.0.1:9/offline/debian:bookworm", "--", "echo", "offline"])
        #expect(result.status == 0 && result.stdout == "offline\n", "\(result.output)")
        #expect(!result.stderr.contains("Pulling"), "the warm path pulled: \(result.stderr)")
    }
}
