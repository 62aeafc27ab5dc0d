import Foundation
import TestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Issue 12, the manifest's half: a cloned repository's manifest or lock that tries to reach the
/// host through a value, or is not a file at all, is refused with its place and fix before
/// anything runs — no mmdebstrap, no layer in the store, no lock written.
@Suite struct HostileManifestTests {
    let store: TemporaryDirectory
    /// A fake mmdebstrap first on PATH: it leaves a marker if devenv ever runs it.
    let tools: TemporaryDirectory
    var marker: String { tools.path + "/mmdebstrap-ran" }

    init() throws {
        store = try TemporaryDirectory("hostile-store")
        tools = try TemporaryDirectory("hostile-tools")
        let fake = tools.path + "/mmdebstrap"
        // It says who it ran as. As root devenv runs it under ids that are not root's on the
        // host, which must be able to write here.
        try """
            #!/bin/sh
            cat /proc/self/uid_map > '\(tools.path)/uid_map'
            id -u > '\(tools.path)/inside-uid'
            touch '\(marker)'
            exit 1

            """.write(toFile: fake, atomically: true, encoding: .utf8)
        try #require(chmod(fake, 0o755) == 0 && chmod(tools.path, 0o1777) == 0)
    }

    /// `devenv build` in `project`, with the fake mmdebstrap found first, killed after 60 s.
    func build(_ project: BuildProject) throws -> Shell.Result {
        let path = tools.path + ":" + (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin")
        return try Shell.run("/usr/bin/timeout", ["60", try TestEnvironment.binary(), "build", "-C", project.path, "--store", store.path],
                             environment: ["PATH": path])
    }

    /// Nothing ran and nothing was stored; the lock is still `lock` (nil: there is none).
    func expectUntouched(_ project: BuildProject, lock: String? = nil, sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(!FileManager.default.fileExists(atPath: marker), "mmdebstrap ran", sourceLocation: sourceLocation)
        let layers = (try? FileManager.default.contentsOfDirectory(atPath: store.path + "/layers")) ?? []
        #expect(layers.filter { !$0.hasPrefix(".") }.isEmpty, "layers in the store: \(layers)", sourceLocation: sourceLocation)
        #expect((try? project.lockText()) == lock, sourceLocation: sourceLocation)
    }

    /// mmdebstrap runs the suite's maintainer scripts, from a mirror the manifest names: as root,
    /// devenv runs it as root of a user namespace whose ids are unprivileged on the host.
    @Test func asRootTheBootstrapRunsUnderIDsThatAreNotRootsOnTheHost() throws {
        try #require(getuid() == 0, "this suite runs as root (scripts/test)")
        let project = try BuildProject("[base]\nbootstrap = \"debian:bookworm\"\nmirror = \"http://127.0.0.1:9/debian\"\n", store: store.path)
        let result = try build(project)
        #expect(result.status == 1 && result.stderr.contains("mmdebstrap could not bootstrap debian:bookworm"), "\(result.output)")
        let map = try String(contentsOfFile: tools.path + "/uid_map", encoding: .utf8)
            .split(whereSeparator: \.isWhitespace).compactMap { UInt64($0) }
        try #require(map.count == 3, "uid_map: \(map)")
        #expect(map[0] == 0 && map[1] >= 100_000 && map[2] == 65536, "mmdebstrap's root is host id \(map[1]), not an unprivileged one")
        #expect(try String(contentsOfFile: tools.path + "/inside-uid", encoding: .utf8) == "0\n", "mmdebstrap sees itself as root")
        let layers = (try? FileManager.default.contentsOfDirectory(atPath: store.path + "/layers")) ?? []
        #expect(layers.filter { !$0.hasPrefix(".") }.isEmpty, "a failed bootstrap left layers: \(layers)")
    }

    /// A `[[setup]]` step runs unasked when a cloned project is built. As root, devenv runs it as
    /// root of a user namespace whose ids are unprivileged on the host, and shows it the store
    /// through idmapped mounts: inside, the image's files have their owners and the step can give
    /// any; on the host, the layer has exactly those owners, setuid bit and whiteout included.
    @Test func asRootABuildStepRunsUnderIDsThatAreNotRootsOnTheHost() throws {
        try #require(getuid() == 0, "this suite runs as root (scripts/test)")
        let project = try BuildProject("""
            name = "shifted"

            [base]
            image = "\(try TestEnvironment.registry())/fixtures/debian:bookworm"

            [[setup]]
            name = "probe"
            run = '''
            mkdir /probe
            cat /proc/self/uid_map > /probe/uid_map
            ls -ln /etc/shadow /usr/bin/passwd > /probe/image-owners
            touch /probe/root-file /probe/user-file
            chown 1000:1000 /probe/user-file
            chmod 4755 /probe/root-file
            rm /etc/issue
            '''
            """, store: store.path)
        let result = try build(project)
        try #require(result.status == 0, "\(result.output)")

        let layers = try FileManager.default.contentsOfDirectory(atPath: store.path + "/layers")
            .map { store.path + "/layers/" + $0 }.filter { FileManager.default.fileExists(atPath: $0 + "/probe") }
        try #require(layers.count == 1, "layers with /probe: \(layers)")
        let layer = layers[0]
        let map = try String(contentsOfFile: layer + "/probe/uid_map", encoding: .utf8)
            .split(whereSeparator: \.isWhitespace).compactMap { UInt64($0) }
        try #require(map.count == 3, "uid_map: \(map)")
        #expect(map[0] == 0 && map[1] >= 100_000 && map[2] == 65536, "the step's root is host id \(map[1]), not an unprivileged one")

        // The image's root-owned files were root's inside, not nobody's.
        let owners = try String(contentsOfFile: layer + "/probe/image-owners", encoding: .utf8).split(separator: "\n")
            .map { $0.split(separator: " ").prefix(4).joined(separator: " ") }
        #expect(owners == ["-rw-r----- 1 0 42", "-rwsr-xr-x 1 0 0"], "\(owners)")
        func info(_ path: String) throws -> stat {
            var result = stat()
            try #require(lstat(layer + path, &result) == 0, "\(path) is not in the layer")
            return result
        }
        let rootFile = try info("/probe/root-file"), userFile = try info("/probe/user-file"), whiteout = try info("/etc/issue")
        #expect(rootFile.st_uid == 0 && rootFile.st_gid == 0 && rootFile.st_mode & 0o7777 == 0o4755)
        #expect(userFile.st_uid == 1000 && userFile.st_gid == 1000)
        #expect(whiteout.st_mode & S_IFMT == S_IFCHR && whiteout.st_rdev == 0 && whiteout.st_uid == 0)

        let run = try Shell.run(try TestEnvironment.binary(), ["run", "-C", project.path, "--store", store.path, "--",
                                                               "sh", "-c", "stat -c '%u:%g %a' /probe/root-file /probe/user-file; test ! -e /etc/issue"])
        #expect(run.status == 0 && run.stdout == "0:0 4755\n1000:1000 644\n", "\(run.output)")
    }

    @Test func aMirrorWithANewlineIsRefusedBeforeMmdebstrapRuns() throws {
        let project = try BuildProject("""
            name = "mirror"

            [base]
            bootstrap = "debian:bookworm"
            mirror = "http://127.0.0.1:9/debian\\ndeb [trusted=yes] http://127.0.0.1:9/evil bookworm main"
            """, store: store.path)
        let result = try build(project)
        #expect(result.status == 1, "\(result.output)")
        #expect(result.stderr.contains(#"\#(project.manifestPath):5:10: mirror "http://127.0.0.1:9/debian\ndeb [trusted=yes]"#), "\(result.stderr)")
        #expect(result.stderr.contains("contains a line break or another control character\n  fix: write mirror = \"http://deb.debian.org/debian\""), "\(result.stderr)")
        expectUntouched(project)

        // The control: with a plain mirror devenv does run the fake, so "it did not run" above means something.
        try project.write("[base]\nbootstrap = \"debian:bookworm\"\nmirror = \"http://127.0.0.1:9/debian\"\n")
        let plain = try build(project)
        #expect(plain.status == 1 && plain.stderr.contains("mmdebstrap could not bootstrap debian:bookworm"), "\(plain.output)")
        #expect(FileManager.default.fileExists(atPath: marker), "the fake mmdebstrap on PATH was not the one run")
    }

    @Test func aBootstrapSuiteThatIsAnOptionIsRefusedBeforeMmdebstrapRuns() throws {
        // Only letters and dashes: the old check let this through to mmdebstrap's options.
        let project = try BuildProject("[base]\nbootstrap = \"debian:--setup-hook\"\nmirror = \"http://127.0.0.1:9/debian\"\n", store: store.path)
        let result = try build(project)
        #expect(result.status == 1, "\(result.output)")
        #expect(result.stderr.contains("\(project.manifestPath):2:13: bootstrap \"debian:--setup-hook\" is not of the form \"debian:SUITE\""), "\(result.stderr)")
        #expect(result.stderr.contains("fix: write bootstrap = \"debian:bookworm\""), "\(result.stderr)")
        expectUntouched(project)

        // The lock is as untrusted as the manifest.
        try project.write("[base]\nbootstrap = \"debian:bookworm\"\n")
        let lock = #"{"base": {"bootstrap": "debian:--setup-hook=touch /tmp/owned"}, "version": 1}"#
        try lock.write(toFile: project.lockPath, atomically: true, encoding: .utf8)
        let locked = try build(project)
        #expect(locked.status == 1, "\(locked.output)")
        #expect(locked.stderr.contains("\(project.lockPath):1:24: \"base.bootstrap\" \"debian:--setup-hook=touch /tmp/owned\" is not of the form"), "\(locked.stderr)")
        expectUntouched(project, lock: lock)
    }

    @Test func aFifoManifestIsAnErrorNotAHang() throws {
        let project = try BuildProject("", store: store.path)
        try FileManager.default.removeItem(atPath: project.manifestPath)
        try #require(mkfifo(project.manifestPath, 0o644) == 0)
        let result = try build(project)
        #expect(result.status != 124, "devenv build hung on the fifo")
        #expect(result.status == 1, "\(result.output)")
        #expect(result.stderr.contains("\(project.manifestPath):1:1: the manifest file is a named pipe (fifo), not a regular file\n  fix: replace it with a regular file"),
                "\(result.stderr)")
        expectUntouched(project)
    }

    @Test func aDirectoryManifestIsNamedAsOne() throws {
        let project = try BuildProject("", store: store.path)
        try FileManager.default.removeItem(atPath: project.manifestPath)
        try FileManager.default.createDirectory(atPath: project.manifestPath, withIntermediateDirectories: false)
        let result = try build(project)
        #expect(result.status == 1, "\(result.output)")
        #expect(result.stderr.contains("\(project.manifestPath):1:1: the manifest file is a directory\n  fix: remove the directory, then create it with `devenv init`"),
                "\(result.stderr)")
        #expect(!result.stderr.contains("NSCocoaErrorDomain"))
        expectUntouched(project)
    }

    /// No timing assertion: the old quadratic merge took minutes here, the test's time shows it.
    @Test func twentyThousandVariablesBuildAndRun() throws {
        let variables = (0..<20_000).map { "K\($0) = \"v\($0)\"" }.joined(separator: "\n")
        let project = try BuildProject("[base]\nimage = \"\(try BuildProject.base())\"\n\n[env]\n\(variables)\n", store: store.path)
        let built = try project.devenv("build")
        #expect(built.status == 0, "\(built.output)")
        let inside = try project.sh(#"echo "$K0 $K12345 $K19999"; env | grep -c '^K[0-9]*='"#)
        #expect(inside.status == 0, "\(inside.stderr)")
        #expect(inside.stdout == "v0 v12345 v19999\n20000\n", "\(inside.output)")
    }
}
