import Foundation
import TestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// The fast start: `devenv` is a small C launcher that runs `run`/`enter` straight from the launch
/// record a full start of `devenv-core` left, as long as none of the record's inputs changed.
/// Each test leaves a record for an invocation (a full start), then checks with the launcher's
/// DEVENV_TRACE_START line that the next start is fast, and that it gives what devenv-core's full
/// start gives. Written, like SandboxRunTests, for root and for the two unprivileged users.
///
/// Serialized: every `--image` record checks the store's oci/index.json, which any pull rewrites
/// (a project's first run resolves its base image into it), so tests running side by side would
/// turn each other's fast starts into full ones.
@Suite(.sandboxScope, .serialized, .tags(.rootless)) struct FastStartTests {
    /// A git repository: the working directory of every devenv run in a test.
    let project: TemporaryDirectory

    init() throws {
        project = try TemporaryDirectory("fast-start")
        let initialized = try Shell.run("git", ["init", "-q", project.path])
        try #require(initialized.status == 0, "git init: \(initialized.output)")
    }

    static func debian() throws -> String { "\(try TestEnvironment.registry())/fixtures/debian:bookworm" }

    var store: String { get throws { try SandboxScope.current().store } }

    /// The repository as the sandbox sees it: symlinks resolved, as devenv binds it.
    var repository: String { Self.physical(project.path) }

    static func physical(_ path: String) -> String {
        guard let resolved = realpath(path, nil) else { return path }
        defer { free(resolved) }
        return String(cString: resolved)
    }

    /// The launcher (what users run) or the Swift program next to it (always a full start).
    enum Binary { case launcher, core }

    static func executable(_ binary: Binary) throws -> String {
        let launcher = try TestEnvironment.binary()
        guard binary == .core else { return launcher }
        let core = URL(fileURLWithPath: launcher).deletingLastPathComponent().appendingPathComponent("devenv-core").path
        try #require(FileManager.default.isExecutableFile(atPath: core), "no devenv-core next to \(launcher)")
        return core
    }

    /// One start of devenv, its trace line taken out of stderr.
    struct Start {
        var status: Int32
        var stdout: String
        /// "devenv: fast start from RECORD" or "devenv: full start: REASON"; "" when devenv-core ran directly.
        var trace: String
        /// stderr without the trace line.
        var stderr: String

        static let fastPrefix = "devenv: fast start from "
        static let fullPrefix = "devenv: full start: "

        init(_ result: Shell.Result) {
            status = result.status
            stdout = result.stdout
            var lines = result.stderr.components(separatedBy: "\n")
            if let first = lines.first, first.hasPrefix(Self.fastPrefix) || first.hasPrefix(Self.fullPrefix) {
                trace = first
                lines.removeFirst()
            } else {
                trace = ""
            }
            stderr = lines.joined(separator: "\n")
        }

        var isFast: Bool { trace.hasPrefix(Self.fastPrefix) }
        /// The record a fast start ran from.
        var record: String? { isFast ? String(trace.dropFirst(Self.fastPrefix.count)) : nil }
        var output: String { "status \(status)\n\(trace)\nstdout:\n\(stdout)\nstderr:\n\(stderr)" }
    }

    /// `devenv ARGUMENTS` in `directory` (default: the repository), with DEVENV_TRACE_START=1.
    func start(_ arguments: [String], binary: Binary = .launcher, in directory: String? = nil, stdin: String? = nil,
               environment: [String: String] = [:]) throws -> Start {
        let result = try Shell.run("/usr/bin/env", ["-C", directory ?? project.path, try Self.executable(binary)] + arguments,
                                   environment: ["DEVENV_TRACE_START": "1"].merging(environment) { $1 }, stdin: stdin)
        return Start(result)
    }

    /// `devenv run -q --store STORE --image DEBIAN OPTIONS -- COMMAND`.
    func run(_ command: [String], options: [String] = [], binary: Binary = .launcher, in directory: String? = nil,
             stdin: String? = nil, environment: [String: String] = [:]) throws -> Start {
        try start(["run", "-q", "--store", try store, "--image", try Self.debian()] + options + ["--"] + command,
                  binary: binary, in: directory, stdin: stdin, environment: environment)
    }

    func sh(_ script: String, options: [String] = [], binary: Binary = .launcher, in directory: String? = nil) throws -> Start {
        try run(["sh", "-c", script], options: options, binary: binary, in: directory)
    }

    /// `devenv enter -q --store STORE --image DEBIAN OPTIONS`, the shell reading `stdin`.
    func enter(stdin: String, options: [String] = [], binary: Binary = .launcher, environment: [String: String] = [:]) throws -> Start {
        try start(["enter", "-q", "--store", try store, "--image", try Self.debian()] + options,
                  binary: binary, stdin: stdin, environment: environment)
    }

    /// Leaves the record for `devenv run|enter -q --store STORE --image DEBIAN OPTIONS` in this
    /// repository: the image is pulled first if need be (a run that pulls cannot leave a record),
    /// then one full start leaves it. `environment`: the caller's variables it is for (TERM…).
    func warm(_ options: [String] = [], enter: Bool = false, environment: [String: String] = [:]) throws {
        try pullOnce()
        let first = enter ? try self.enter(stdin: "exit 0\n", options: options, environment: environment)
            : try run(["true"], options: options, environment: environment)
        try #require(first.status == 0, "\(first.output)")
        #expect(first.trace == Start.fullPrefix + "no record yet", "\(first.output)")
    }

    /// Pulls the image unless the store has it. Not every time: a pull rewrites oci/index.json,
    /// which every `--image` record checks, so it would make the records already left stale.
    func pullOnce() throws {
        let index = try? JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: try store + "/oci/index.json"))) as? [String: Any]
        let names = (index?["manifests"] as? [[String: Any]] ?? []).compactMap {
            ($0["annotations"] as? [String: String])?["org.opencontainers.image.ref.name"]
        }
        guard !names.contains(try Self.debian()) else { return }
        let pull = try Shell.run(try TestEnvironment.binary(), ["pull", "-q", "--store", try store, try Self.debian()])
        try #require(pull.status == 0, "pull: \(pull.output)")
    }

    /// The PATH python3 hands to the programs it runs (pyenv's shim puts its own directory first):
    /// an invocation started through python3 (the pty driver…) needs a record left with that PATH.
    static func pythonPath() throws -> String {
        let result = try Shell.run("/usr/bin/env", ["python3", "-c", "import os, sys; sys.stdout.write(os.environ.get('PATH', ''))"])
        try #require(result.status == 0 && !result.stdout.isEmpty, "python3: \(result.output)")
        return result.stdout
    }

    /// `python3 -c CODE MASK PROGRAM ARGUMENTS…` runs PROGRAM with exactly the signals in MASK
    /// ("15,2") blocked, whatever the mask of the thread that starts it. With PROGRAM "python3",
    /// the same interpreter, found without pyenv's shim (which would change PATH once more).
    static func withSignalMask(_ blocked: [Int32], _ program: String, _ arguments: [String]) -> [String] {
        let code = "import os, signal, sys; signal.pthread_sigmask(signal.SIG_SETMASK, {int(s) for s in sys.argv[1].split(',') if s}); "
            + "program = sys.executable if sys.argv[2] == 'python3' else sys.argv[2]; os.execv(program, [program] + sys.argv[3:])"
        return ["python3", "-c", code, blocked.map(String.init).joined(separator: ","), program] + arguments
    }

    /// Lines only in `full` ("-") or only in `fast` ("+"), for a failing comparison's message.
    static func differences(_ full: String, _ fast: String) -> String {
        let a = full.components(separatedBy: "\n"), b = fast.components(separatedBy: "\n")
        return (a.filter { !b.contains($0) }.map { "- " + $0 } + b.filter { !a.contains($0) }.map { "+ " + $0 }).joined(separator: "\n")
    }

    /// What a user looks at to tell two sandboxes apart: who and where they are, the host name and
    /// files devenv writes, their environment, ownership in the repository, privileges and blocked
    /// signals, the id maps, the mounts, /dev and the network interfaces. (Ignored signals depend on
    /// the caller: theCommandIgnoresTheSameSignalsOnAFastStart compares them for a given caller.)
    func portrait() -> String {
        """
        id; pwd; hostname; cat /etc/hostname /etc/hosts /etc/resolv.conf 2>&1; grep "^$(id -un):" /etc/passwd; \
        grep "^$(id -gn):" /etc/group; env | sort; ls -ln \(repository)/README; \
        grep -E '^(NoNewPrivs|Cap|Seccomp|SigBlk|Umask)' /proc/self/status; \
        cat /proc/self/uid_map /proc/self/gid_map /proc/self/setgroups; ulimit -n; mount | sort; ls -A /dev; \
        sed -n 's/^ *\\([a-z0-9]*\\):.*/\\1/p' /proc/net/dev
        """
    }

    /// Runs the portrait with devenv-core (a full start) and with the launcher, which must start
    /// fast from the record and print exactly the same. Returns the fast start.
    @discardableResult
    func expectFastStartGivesWhatTheFullStartGives(options: [String] = [], in directory: String? = nil) throws -> Start {
        try Data("top\n".utf8).write(to: URL(fileURLWithPath: project.path + "/README"))
        let full = try sh(portrait(), options: options, binary: .core, in: directory)
        let fast = try sh(portrait(), options: options, in: directory)
        try #require(full.status == 0, "\(full.output)")
        #expect(full.trace == "", "devenv-core printed a launcher trace: \(full.trace)")
        #expect(fast.isFast, "\(fast.output)")
        #expect(fast.status == full.status)
        #expect(fast.stdout == full.stdout, "fast start differs from the full start:\n\(Self.differences(full.stdout, fast.stdout))")
        #expect(fast.stderr == full.stderr, "stderr differs:\n\(Self.differences(full.stderr, fast.stderr))")
        return fast
    }

    @Test func aWarmStartIsFastAndGivesWhatAFullStartGives() throws {
        let inside = project.path + "/src/lib"
        try FileManager.default.createDirectory(atPath: inside, withIntermediateDirectories: true)
        // The record is left from the repository's top: it is the project's, wherever in it you start.
        try warm()
        let fast = try expectFastStartGivesWhatTheFullStartGives(in: inside)
        let lines = fast.stdout.components(separatedBy: "\n")
        try #require(lines.count > 3, "\(fast.output)")
        #expect(lines[0].hasPrefix("uid=\(getuid())(") && lines[0].contains(" gid=\(getgid())("), "\(lines[0])")
        #expect(lines[1] == repository + "/src/lib", "the working directory inside is not kept")
        for field in ["NoNewPrivs:\t1", "Seccomp:\t2", "CapEff:\t0000000000000000", "CapBnd:\t0000000000000000"] {
            #expect(lines.contains(field), "\(field) missing: \(fast.stdout)")
        }
        let listing = try #require(lines.first { $0.hasSuffix(" \(repository)/README") }, "\(fast.stdout)")
        #expect(listing.split(separator: " ", omittingEmptySubsequences: true).dropFirst(2).prefix(2).map(String.init) == ["\(getuid())", "\(getgid())"],
                "the repository's file is not the caller's inside: \(listing)")
        #expect(try sh("cat \(repository)/README", in: inside).stdout == "top\n")
    }

    @Test func aFreshStoreStartsInFullTwiceThenFast() throws {
        let temp = try TemporaryDirectory("fast-start-store")
        let store = temp.path + "/store"
        func echo() throws -> Start {
            try start(["run", "-q", "--store", store, "--image", try Self.debian(), "--", "echo", "ran"])
        }
        // The first run pulls the image: oci/index.json changes while it runs, so it leaves no record…
        let pulling = try echo()
        #expect(pulling.status == 0 && pulling.stdout == "ran\n", "\(pulling.output)")
        #expect(pulling.trace == Start.fullPrefix + "no record yet")
        #expect(FileManager.default.fileExists(atPath: store + "/oci/index.json"), "the first run did not pull into the store")
        // …the second one does…
        let recording = try echo()
        #expect(recording.status == 0 && recording.stdout == "ran\n", "\(recording.output)")
        #expect(recording.trace == Start.fullPrefix + "no record yet", "a run that pulled left a record")
        // …and the third starts from it.
        let fast = try echo()
        #expect(fast.status == 0 && fast.stdout == "ran\n", "\(fast.output)")
        let record = try #require(fast.record, "\(fast.output)")
        #expect(record.hasPrefix(store + "/envs/.launch/"), "\(record)")
        #expect(FileManager.default.fileExists(atPath: record))
    }

    @Test func devenvCoreAndOptionsTheLauncherLeavesAloneAreAlwaysFullStarts() throws {
        try pullOnce()
        // devenv-core run directly, twice: it never leaves a record (nobody asked it for one).
        for _ in 0..<2 {
            let direct = try run(["echo", "core"], binary: .core)
            #expect(direct.status == 0 && direct.stdout == "core\n", "\(direct.output)")
            #expect(direct.trace == "")
        }
        let first = try run(["echo", "launcher"])
        #expect(first.trace == Start.fullPrefix + "no record yet", "devenv-core left a record: \(first.output)")
        #expect(try run(["echo", "launcher"]).isFast)

        // -v, and a command with dashed words but no "--" (which ArgumentParser reads as options):
        // devenv-core decides, every time, even with a valid record for the rest of the line.
        for _ in 0..<2 {
            let verbose = try start(["run", "-q", "-v", "--store", try store, "--image", try Self.debian(), "--", "echo", "verbose"])
            #expect(verbose.trace == Start.fullPrefix + "options the fast start does not handle", "\(verbose.output)")
            #expect(verbose.status == 0 && verbose.stdout == "verbose\n", "\(verbose.output)")
        }
        let dashed = ["run", "-q", "--store", try store, "--image", try Self.debian(), "ls", "-d", "/"]
        let launcher = try start(dashed), core = try start(dashed, binary: .core)
        #expect(launcher.trace == Start.fullPrefix + "options the fast start does not handle", "\(launcher.output)")
        #expect(launcher.status == core.status && launcher.stdout == core.stdout && launcher.stderr == core.stderr,
                "the launcher and devenv-core read `run … ls -d /` differently:\n\(launcher.output)\n\(core.output)")
        // The record for the plain invocation is still there and still used.
        #expect(try run(["echo", "launcher"]).isFast)
    }
}
