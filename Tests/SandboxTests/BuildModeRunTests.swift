import CLinux
import Foundation
@testable import Sandbox
import Testing

/// Build steps really run: a busybox layer, a script that changes the root filesystem as root,
/// and the upper directory inspected on the host afterwards. CI runs these as root and again as
/// unprivileged users with and without /etc/subuid ranges; every expectation is written for the
/// mapping the runner gets.
@Suite(.tags(.rootless)) final class BuildModeRunTests {
    let root: String
    let layers: String
    let upper: String
    let work: String
    let identity = IDMapping.forBuild(asRoot: false)

    /// Busybox's applets the scripts use, as links in /bin.
    static let applets = ["sh", "echo", "cat", "touch", "chown", "rm", "mkdir", "ls", "grep"]

    init() throws {
        root = FileManager.default.temporaryDirectory.appendingPathComponent("build-mode-\(UUID().uuidString)").path
        layers = root + "/layers"
        upper = root + "/build/upper"
        work = root + "/build/work"
        let base = layers + "/base"
        for directory in [base + "/bin", base + "/etc", base + "/d", layers + "/" + SandboxSpec.scratchName, upper, work] {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        }
        // The upper directory is the root directory inside: it must be searchable by everyone.
        chmod(upper, 0o755)
        try FileManager.default.copyItem(atPath: "/bin/busybox", toPath: base + "/bin/busybox")
        for applet in Self.applets {
            try FileManager.default.createSymbolicLink(atPath: base + "/bin/" + applet, withDestinationPath: "busybox")
        }
        try Data("gone soon\n".utf8).write(to: URL(fileURLWithPath: base + "/etc/doomed"))
        try Data("kept\n".utf8).write(to: URL(fileURLWithPath: base + "/etc/kept"))
        try Data("old\n".utf8).write(to: URL(fileURLWithPath: base + "/d/old"))
    }

    deinit {
        if identity.mode == .subordinate {
            // What the step made belongs to root inside, a subordinate id: only that root can delete it.
            _ = try? UserNamespaceProcess.run(["/bin/rm", "-rf", root], environment: [], mapping: identity)
        } else {
            // overlayfs leaves its work directory mode 000.
            chmod(work + "/work", 0o700)
            try? FileManager.default.removeItem(atPath: root)
        }
    }

    func session(_ script: String) -> BuildSession {
        BuildSession(layersDirectory: layers, layers: ["base"], upperDirectory: upper, workDirectory: work,
                     command: ["/bin/sh", "-c", script], environment: ["PATH=/bin"], identity: identity)
    }

    /// Runs `spec` with its stdout and stderr on one pipe, read while it runs, and its stdin
    /// from a file holding `input`.
    func run(_ spec: SandboxSpec, input: String = "") throws -> (status: Int32, output: String) {
        let inputPath = root + "/input"
        try Data(input.utf8).write(to: URL(fileURLWithPath: inputPath))
        let inputFD = open(inputPath, O_RDONLY | O_CLOEXEC)
        try #require(inputFD >= 0)
        defer { close(inputFD) }
        var fds: [Int32] = [-1, -1]
        try #require(pipe(&fds) == 0)
        // Other tests start processes concurrently: none of them may hold the write end open.
        for fd in fds { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
        let reader = PipeReader(fds[0])
        var spec = spec
        spec.standardInput = inputFD
        spec.standardOutput = fds[1]
        spec.standardError = fds[1]
        let status: Int32
        do {
            status = try Sandbox.run(spec)
        } catch {
            close(fds[1])
            _ = reader.wait()
            throw error
        }
        close(fds[1])
        return (status, reader.wait())
    }

    /// The host id that inside id `id` is, nil when it is not mapped.
    func host(_ id: UInt32, in ranges: [IDRange]) -> UInt32? {
        // Root's steps run as unprivileged ids, and see and write the store through idmapped mounts.
        if identity.shiftsHostIDs { return id < IDMapping.shiftedIDCount ? id : nil }
        return ranges.first { id >= $0.inside && id - $0.inside < $0.count }.map { $0.outside + (id - $0.inside) }
    }

    func info(_ path: String) throws -> stat {
        var info = stat()
        try #require(lstat(path, &info) == 0, "\(path): \(String(cString: strerror(errno)))")
        return info
    }

    /// Every path under `directory`, relative to it, sorted.
    func tree(_ directory: String) -> [String] {
        (FileManager.default.enumerator(atPath: directory)?.allObjects as? [String] ?? []).sorted()
    }

    @Test func whatTheStepWritesStaysInTheUpperDirectoryInOverlayForm() throws {
        let script = """
            read line; echo "stdin: $line"
            echo made > /new-file
            touch /owned
            chown 1000:1000 /owned; echo "chown: $?"
            rm /etc/doomed
            rm -rf /d && mkdir /d && echo fresh > /d/fresh
            echo to-stdout; echo to-stderr >&2
            exit 7
            """
        let result = try run(session(script).spec(), input: "hello\n")
        #expect(result.status == 7, "\(result.output)")
        #expect(result.output.contains("stdin: hello\n"), "\(result.output)")
        #expect(result.output.contains("to-stdout\n") && result.output.contains("to-stderr\n"), "\(result.output)")

        // Only the step's own changes: no mountpoint, generated file or tmpfs of the sandbox.
        #expect(tree(upper) == ["d", "d/fresh", "etc", "etc/doomed", "new-file", "owned"])
        #expect(FileManager.default.contents(atPath: upper + "/new-file") == Data("made\n".utf8))

        let doomed = try info(upper + "/etc/doomed")
        #expect(doomed.st_mode & S_IFMT == S_IFCHR && doomed.st_rdev == 0, "a deleted lower file is a whiteout, char 0/0")

        var opaque = [CChar](repeating: 0, count: 8)
        let length = lgetxattr(upper + "/d", "user.overlay.opaque", &opaque, opaque.count)
        #expect(length == 1 && opaque[0] == CChar(UInt8(ascii: "y")), "a replaced directory is opaque: \(String(cString: strerror(errno)))")
        #expect(FileManager.default.contents(atPath: upper + "/d/fresh") == Data("fresh\n".utf8))

        // Files are root's inside, which the mapping says who is on the host.
        let made = try info(upper + "/new-file")
        #expect(made.st_uid == host(0, in: identity.uids) && made.st_gid == host(0, in: identity.gids))
        let owned = try info(upper + "/owned")
        if let uid = host(1000, in: identity.uids), let gid = host(1000, in: identity.gids) {
            #expect(result.output.contains("chown: 0\n"), "\(identity.mode): \(result.output)")
            #expect(owned.st_uid == uid && owned.st_gid == gid)
        } else {
            // A single-id mapping has no id 1000 to give.
            #expect(identity.mode == .single)
            #expect(result.output.contains("chown: 1\n") && result.output.contains("Invalid argument"), "\(result.output)")
            #expect(owned.st_uid == getuid())
        }
    }

    @Test func rootInsideHasDockersCapabilitiesOnlyInBuildMode() throws {
        let script = """
            grep ^Cap /proc/self/status
            touch /mine; chown 1000:1000 /mine; echo "chown: $?"
            """
        // CHOWN DAC_OVERRIDE FOWNER FSETID KILL SETGID SETUID SETPCAP NET_BIND_SERVICE NET_RAW
        // SYS_CHROOT MKNOD AUDIT_WRITE SETFCAP: Docker's default set.
        let docker = "00000000a80425fb"
        let build = try run(session(script).spec())
        #expect(build.status == 0, "\(build.output)")
        for set in ["CapInh", "CapPrm", "CapEff", "CapBnd"] {
            #expect(build.output.contains("\(set):\t\(docker)\n"), "\(set): \(build.output)")
        }
        #expect(build.output.contains("CapAmb:\t0000000000000000\n"), "\(build.output)")
        #expect(build.output.contains(identity.mode == .single ? "chown: 1\n" : "chown: 0\n"), "\(identity.mode): \(build.output)")

        // A normal run as root: no capabilities, so root cannot give files away.
        var spec = session(script).spec()
        spec.keepsCapabilities = false
        let plain = try run(spec)
        #expect(plain.status == 0, "\(plain.output)")
        for set in ["CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb"] {
            #expect(plain.output.contains("\(set):\t0000000000000000\n"), "\(set): \(plain.output)")
        }
        let refusal = identity.mode == .single ? "Invalid argument" : "Operation not permitted"
        #expect(plain.output.contains("chown: 1\n") && plain.output.contains(refusal), "\(identity.mode): \(plain.output)")
    }

    @Test func onlyTheGivenDescriptorsReachTheCommand() throws {
        let outputPath = root + "/output"
        let outputFD = open(outputPath, O_WRONLY | O_CREAT | O_CLOEXEC, 0o644)
        try #require(outputFD >= 0)
        defer { close(outputFD) }
        var spec = session("ls /proc/self/fd; echo error >&2; cat").spec()
        spec.standardInput = open("/dev/null", O_RDONLY | O_CLOEXEC)
        defer { close(spec.standardInput!) }
        spec.standardOutput = outputFD
        spec.standardError = outputFD
        #expect(try Sandbox.run(spec) == 0)
        // 3 is the directory ls reads.
        let output = String(decoding: FileManager.default.contents(atPath: outputPath) ?? Data(), as: UTF8.self)
        #expect(output == "0\n1\n2\n3\nerror\n")
    }
}

/// Reads a pipe to EOF on a thread of its own, as devenv reads a step's output while it runs.
final class PipeReader: @unchecked Sendable {
    private var bytes: [UInt8] = []
    private let done = DispatchSemaphore(value: 0)

    init(_ fd: Int32) {
        Thread { [self] in
            var buffer = [UInt8](repeating: 0, count: 4096)
            while true {
                let count = read(fd, &buffer, buffer.count)
                if count < 0, errno == EINTR { continue }
                guard count > 0 else { break }
                bytes += buffer[..<count]
            }
            close(fd)
            done.signal()
        }.start()
    }

    func wait() -> String {
        done.wait()
        return String(decoding: bytes, as: UTF8.self)
    }
}
