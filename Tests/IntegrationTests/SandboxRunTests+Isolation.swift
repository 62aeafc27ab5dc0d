import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// What the command can see and do: namespaces, /proc, /sys, /dev, descriptors, privileges.
extension SandboxRunTests {
    @Test func hostProcessesAreInvisibleAndAReaperIsPid1() throws {
        let result = try sh("echo $$; cat /proc/1/comm; ls -d /proc/[0-9]* | wc -l")
        try #require(result.status == 0, "\(result.output)")
        let lines = result.stdout.split(separator: "\n").map(String.init)
        #expect(lines.count == 3)
        #expect(lines.first != "1", "the command must not be pid 1")
        #expect(lines.dropFirst().first == "devenv-init", "pid 1 is devenv's reaper")
        // The reaper, sh, ls and wc: nothing of the host.
        #expect((Int(lines.last ?? "") ?? 99) <= 5, "\(result.stdout)")
    }

    @Test func orphansAreReaped() throws {
        // The subshell exits at once; its background child becomes pid 1's and exits soon after.
        let result = try sh("(sh -c 'exit 0' &); sleep 0.5; cat /proc/[0-9]*/stat")
        try #require(result.status == 0, "\(result.output)")
        let states = result.stdout.split(separator: "\n").compactMap { line in
            line.range(of: ") ").map { line[$0.upperBound...].prefix(1) }
        }
        #expect(!states.isEmpty)
        #expect(!states.contains("Z"), "a zombie is left: \(result.stdout)")
    }

    @Test func sensitiveProcAndSysPathsAreMaskedOrReadOnly() throws {
        let masked = "for f in /proc/kcore /proc/keys /proc/timer_list /proc/sched_debug /proc/latency_stats; do "
            + "[ -e $f ] && echo \"$f $(wc -c < $f)\"; done; ls -A /sys/firmware | wc -l"
        let result = try sh(masked)
        try #require(result.status == 0, "\(result.output)")
        var lines = result.stdout.split(separator: "\n").map(String.init)
        #expect(lines.popLast() == "0", "/sys/firmware is not empty")
        #expect(!lines.isEmpty, "none of the masked /proc files exists on this kernel")
        for line in lines { #expect(line.hasSuffix(" 0"), "\(line) is readable") }

        // Writes fail on the mount, whatever the files' permissions would say.
        let readOnly = try sh("echo h > /proc/sys/kernel/hostname; mkdir /sys/devenv-probe; "
            + "[ -e /proc/sysrq-trigger ] && echo h > /proc/sysrq-trigger")
        let refusals = readOnly.stderr.split(separator: "\n").filter { $0.contains("Read-only file system") }
        let expected = FileManager.default.fileExists(atPath: "/proc/sysrq-trigger") ? 3 : 2
        #expect(refusals.count == expected, "\(readOnly.stderr)")
    }

    @Test func devIsMinimal() throws {
        let result = try sh("ls -A /dev | tr '\\n' ' '; echo; stat -c '%F' /dev/null /dev/zero /dev/urandom /dev/tty; echo x > /dev/null && echo null-ok; touch /dev/new 2>&1")
        try #require(result.status != 0 || result.stdout.contains("null-ok"), "\(result.output)")
        let lines = result.stdout.split(separator: "\n").map(String.init)
        #expect(lines.first == "fd full null ptmx pts random shm stderr stdin stdout tty urandom zero ")
        #expect(lines.dropFirst().prefix(4).allSatisfy { $0 == "character special file" }, "\(lines)")
        #expect(result.stdout.contains("null-ok"))
        #expect(result.stdout.contains("Read-only file system"), "/dev accepts new files: \(result.stdout)")
    }

    @Test func onlyDescriptorsZeroToTwoReachTheCommand() throws {
        // devenv itself gets descriptors 5 and 7 from its caller here; the command must not.
        let store = try SandboxScope.current().store
        let inner = "ls /proc/self/fd | tr '\\n' ' '"
        let script = "exec 5</dev/null 7>/dev/null; exec \"$0\" run -q --store \"$1\" --image \"$2\" -- sh -c \"$3\""
        let result = try Shell.run("/usr/bin/env", ["-C", project.path, "/bin/sh", "-c", script, try TestEnvironment.binary(),
                                                    store, try Self.debian(), inner])
        try #require(result.status == 0, "\(result.output)")
        // ls's own directory descriptor is 3.
        #expect(result.stdout == "0 1 2 3 ", "\(result.stdout)")
    }

    @Test func thereAreNoPrivilegesToGainOrUse() throws {
        let result = try sh("grep -E '^(Cap(Inh|Prm|Eff|Bnd|Amb)|NoNewPrivs|Seccomp):' /proc/self/status")
        try #require(result.status == 0, "\(result.output)")
        let fields = Dictionary(uniqueKeysWithValues: result.stdout.split(separator: "\n").map {
            let parts = $0.split(separator: ":", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
            return (parts[0], parts.count > 1 ? parts[1] : "")
        })
        for cap in ["CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb"] { #expect(fields[cap] == "0000000000000000", "\(cap)") }
        #expect(fields["NoNewPrivs"] == "1")
        #expect(fields["Seccomp"] == "2")
    }

    @Test func theDevenvBinaryCannotBeReopenedFromInside() throws {
        // The reaper (pid 1) is a copy of devenv: its exe, maps and mem must stay closed. The
        // command's own exe is the image's sh, on a read-only mount.
        let result = try sh("for p in /proc/[0-9]*; do (: >> $p/exe) 2>/dev/null && echo writable $p; done; "
            + "readlink /proc/1/exe || echo exe-hidden; cat /proc/1/maps > /dev/null || echo maps-hidden")
        #expect(!result.stdout.contains("writable"), "\(result.stdout)")
        #expect(result.stdout == "exe-hidden\nmaps-hidden\n", "\(result.output)")
    }
}
