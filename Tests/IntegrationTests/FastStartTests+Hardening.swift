import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// The sandbox a fast start builds (in C, from the record) is as closed as the full start's:
/// the seccomp filter, the reaper, the descriptors.
extension FastStartTests {
    @Test func theSyscallFilterIsTheSameOnAFastStart() throws {
        let probe = project.path + "/probe"
        try FileManager.default.copyItem(atPath: try SandboxScope.current().probe, toPath: probe)
        try warm()
        let full = try run([probe], binary: .core)
        let fast = try run([probe])
        #expect(fast.isFast, "\(fast.output)")
        #expect(full.status == 0, "\(full.output)")
        #expect(fast.status == 0, "\(fast.output)")
        #expect(fast.stdout == full.stdout, "the filter differs:\n\(Self.differences(full.stdout, fast.stdout))")
        let lines = fast.stdout.split(separator: "\n")
        #expect(lines.filter { $0.hasPrefix("FAIL") }.isEmpty, "\(fast.stdout)")
        for name in ["keyctl", "bpf", "clone3", "ioctl(TIOCSTI | 1<<32)", "unshare(CLONE_NEWUSER)", "clone(CLONE_NEWUSER)",
                     "pthread_create", "fork"] {
            #expect(lines.contains("ok \(name)"[...]), "\(name) was not checked")
        }
    }

    @Test func theLauncherAsReaperCannotBeReopenedFromInside() throws {
        // On a fast start pid 1 is a copy of the launcher: its exe cannot be written, read or even
        // resolved, and its maps stay closed, as with devenv-core's reaper.
        try warm()
        let result = try sh("cat /proc/1/comm; for p in /proc/[0-9]*; do (: >> $p/exe) 2>/dev/null && echo writable $p; done; "
            + "readlink /proc/1/exe || echo exe-hidden; cat /proc/1/exe > /dev/null 2>&1 || echo exe-unreadable; "
            + "cat /proc/1/maps > /dev/null || echo maps-hidden")
        #expect(result.isFast, "\(result.output)")
        #expect(!result.stdout.contains("writable"), "\(result.stdout)")
        #expect(result.stdout == "devenv-init\nexe-hidden\nexe-unreadable\nmaps-hidden\n", "\(result.output)")
    }

    @Test func onlyDescriptorsZeroToTwoReachTheCommandOnAFastStart() throws {
        try warm()
        // The launcher gets descriptors 5, 7 and 9 from its caller here; the command must not.
        let inner = "ls /proc/self/fd | tr '\\n' ' '"
        let script = "exec 5</dev/null 7>/dev/null 9<\"$0\"; exec \"$0\" run -q --store \"$1\" --image \"$2\" -- sh -c \"$3\""
        let result = Start(try Shell.run("/usr/bin/env", ["-C", project.path, "/bin/sh", "-c", script, try TestEnvironment.binary(),
                                                          try store, try Self.debian(), inner],
                                         environment: ["DEVENV_TRACE_START": "1"]))
        #expect(result.isFast, "\(result.output)")
        try #require(result.status == 0, "\(result.output)")
        // ls's own directory descriptor is 3.
        #expect(result.stdout == "0 1 2 3 ", "\(result.stdout)")
    }
}

/// What the caller gets back from a fast start: the command's status, its streams, its errors.
extension FastStartTests {
    @Test func theCommandsExitStatusIsDevenvsOnAFastStart() throws {
        try warm()
        let cases: [(String, Int32)] = [("exit 42", 42), ("true", 0), ("kill -TERM $$", 143), ("kill -KILL $$", 137), ("kill -INT $$", 130)]
        for (script, status) in cases {
            let result = try sh(script)
            #expect(result.isFast, "\(script): \(result.output)")
            #expect(result.status == status, "\(script): \(result.output)")
        }
    }

    @Test func pipesWorkBothWaysOnAFastStart() throws {
        try warm()
        let small = try run(["tr", "a-z", "A-Z"], stdin: "hello\nworld\n")
        #expect(small.isFast, "\(small.output)")
        #expect(small.status == 0 && small.stdout == "HELLO\nWORLD\n", "\(small.output)")
        // A megabyte each way: more than a pipe holds, so both directions really stream.
        let large = String(repeating: "0123456789abcdef\n", count: 64 * 1024)
        let counted = try run(["wc", "-c"], stdin: large)
        #expect(counted.isFast && counted.stdout == "\(large.utf8.count)\n", "\(counted.output)")
        let produced = try sh("head -c 1048576 /dev/zero")
        #expect(produced.isFast && produced.stdout.utf8.count == 1_048_576, "\(produced.trace) \(produced.stdout.utf8.count) bytes")
    }

    @Test func aMissingCommandExits127AndSaysSoOnAFastStart() throws {
        try warm()
        for (command, status) in [("no-such-command", Int32(127)), ("/etc/hostname", 126)] {
            let full = try run([command], binary: .core)
            let fast = try run([command])
            #expect(fast.isFast, "\(fast.output)")
            #expect(full.status == status, "\(full.output)")
            #expect(fast.status == status, "\(fast.output)")
            #expect(fast.stderr == full.stderr, "\(command): the fast start says \(fast.stderr), the full start \(full.stderr)")
        }
        let missing = try run(["no-such-command"])
        #expect(missing.stderr.contains("no-such-command") && missing.stderr.contains("ENOENT"), "\(missing.stderr)")
        // The record is kept: a command that is not there is the caller's mistake, not the sandbox's.
        #expect(try run(["true"]).isFast)
    }

    /// Starts `devenv run … -- sh -c SCRIPT` (`binary`) in the background through python3, with
    /// the signals `blocked` in its mask as it starts (none: an empty mask, whatever this thread's).
    func startInBackground(_ script: String, binary: Binary, blocked: [Int32]) throws -> (Process, Pipe) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = Self.withSignalMask(blocked, try Self.executable(binary),
                                                ["run", "-q", "--store", try store, "--image", try Self.debian(), "--", "sh", "-c", script])
        process.currentDirectoryURL = URL(fileURLWithPath: project.path)
        process.environment = ProcessInfo.processInfo.environment.merging(["DEVENV_TRACE_START": "1"]) { $1 }
        let errors = Pipe()
        process.standardOutput = FileHandle.nullDevice
        process.standardError = errors
        try process.run()
        return (process, errors)
    }

    /// Polls `condition` for up to 15 s (a bound for a hang, not a measurement).
    func poll(_ condition: () -> Bool) -> Bool {
        for _ in 0..<300 {
            if condition() { return true }
            usleep(50_000)
        }
        return condition()
    }

    @Test(arguments: [[], [SIGTERM, SIGINT, SIGHUP]] as [[Int32]])
    func signalsSentToDevenvReachTheCommandOnAFastStart(blocked: [Int32]) throws {
        // A caller may start devenv with signals blocked: a thread of a multi-threaded program
        // has them so (Foundation's Process, spawning from a Swift task, passes that mask on: so
        // does this test run without the wrapper). Blocked or not, a SIGTERM sent to devenv is the
        // command's, as on a full start.
        try warm(environment: ["PATH": try Self.pythonPath()])
        for binary in [Binary.core, .launcher] {
            let ready = project.path + "/ready", got = project.path + "/got"
            _ = unlink(ready)
            _ = unlink(got)
            let (process, errors) = try startInBackground("trap 'echo term > got; exit 3' TERM; touch ready; while :; do sleep 0.1; done",
                                                          binary: binary, blocked: blocked)
            let started = poll { FileManager.default.fileExists(atPath: ready) }
            if started { kill(process.processIdentifier, SIGTERM) }
            let ended = poll { !process.isRunning }
            if !ended { kill(process.processIdentifier, SIGKILL) }
            process.waitUntilExit()
            let trace = Start(Shell.Result(status: 0, stdout: "", stderr: String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self))).trace
            let what = "\(binary) with \(blocked.isEmpty ? "nothing" : "\(blocked)") blocked (\(trace.isEmpty ? "devenv-core" : trace))"
            try #require(started, "\(what): the command did not start")
            #expect(binary == .core || trace.hasPrefix(Start.fastPrefix), "\(what): not a fast start")
            #expect(ended, "\(what): SIGTERM did not end devenv (killed it after 15 s)")
            #expect(ended && process.terminationStatus == 3, "\(what): exit status \(process.terminationStatus)")
            #expect((try? String(contentsOfFile: got, encoding: .utf8)) == "term\n", "\(what): the command did not get SIGTERM")
        }
    }

    @Test func theCommandIgnoresTheSameSignalsOnAFastStart() throws {
        // glibc keeps signals 32 and 33 to itself (its sigaction refuses them), but a caller can
        // ignore them with the raw system call (Foundation's Process leaves them ignored in its
        // children) and an ignored signal stays ignored across execve.
        let source = project.path + "/ignore-rt.c", wrapper = project.path + "/ignore-rt"
        try """
            #include <signal.h>
            #include <sys/syscall.h>
            #include <unistd.h>
            struct kernel_sigaction { void (*handler)(int); unsigned long flags; void (*restorer)(void); unsigned long mask; };
            int main(int argc, char **argv) {
                struct kernel_sigaction ignore = {SIG_IGN, 0, 0, 0};
                for (int number = 32; number <= 33; number++) syscall(SYS_rt_sigaction, number, &ignore, 0, 8);
                execv(argv[1], argv + 1);
                return 127;
            }
            """.write(toFile: source, atomically: true, encoding: .utf8)
        let compile = try Shell.run("gcc", ["-O1", "-o", wrapper, source])
        try #require(compile.status == 0, "gcc: \(compile.output)")
        try warm()
        func sigIgn(_ binary: Binary) throws -> Start {
            Start(try Shell.run("/usr/bin/env", ["-C", project.path, wrapper, try Self.executable(binary), "run", "-q", "--store", try store,
                                                 "--image", try Self.debian(), "--", "grep", "^SigIgn", "/proc/self/status"],
                                environment: ["DEVENV_TRACE_START": "1"]))
        }
        let full = try sigIgn(.core), fast = try sigIgn(.launcher)
        #expect(fast.isFast, "\(fast.output)")
        #expect(full.status == 0 && fast.status == 0, "\(full.output)\n\(fast.output)")
        #expect(fast.stdout == full.stdout, "full start: \(full.stdout)fast start: \(fast.stdout)")
    }
}
