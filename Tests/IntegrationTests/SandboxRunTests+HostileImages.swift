import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Images made for the occasion: ones that try to point the sandbox's mounts at the host or to
/// raise privileges, and ones with very many layers.
extension SandboxRunTests {
    /// A host directory an image's symlinks aim at: if a mount followed them, something would
    /// be mounted or created here.
    func canary() throws -> String {
        let path = project.path + "-canary"
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        try Data("host\n".utf8).write(to: URL(fileURLWithPath: path + "/passwd"))
        return path
    }

    func expectUntouched(_ canary: String) throws {
        #expect(try FileManager.default.contentsOfDirectory(atPath: canary) == ["passwd"])
        #expect(try String(contentsOfFile: canary + "/passwd", encoding: .utf8) == "host\n")
        let mounts = try String(contentsOfFile: "/proc/self/mountinfo", encoding: .utf8)
        #expect(!mounts.contains(canary), "a mount landed on the host")
    }

    @Test func symlinksAtMountpointsCannotRedirectMountsToTheHost() throws {
        let canary = try canary()
        defer { try? FileManager.default.removeItem(atPath: canary) }
        let image = try SandboxTestImage(in: project)
        for path in ["/dev", "/proc", "/sys", "/tmp", "/etc", "/home"] { try image.symlink(path, to: canary) }
        let reference = try image.push(name: "symlinked-mountpoints")
        let result = try sh("stat -c %F /dev/null; ls /proc/self/fd | wc -l; ls /sys | wc -l; touch /tmp/x && echo tmp-ok; "
            + "cat /etc/passwd; echo $HOME; ls -A $HOME | wc -l", image: reference)
        try #require(result.status == 0, "\(result.output)")
        let lines = result.stdout.split(separator: "\n").map(String.init)
        #expect(lines.first == "character special file")
        #expect(lines.contains("tmp-ok"))
        // /etc/passwd is generated from the image's (read without leaving the image), not the host's.
        #expect(!result.stdout.contains("host"), "\(result.stdout)")
        try expectUntouched(canary)
    }

    @Test func aSymlinkedDevNullCannotRedirectAMount() throws {
        let canary = try canary()
        defer { try? FileManager.default.removeItem(atPath: canary) }
        let image = try SandboxTestImage(in: project)
        for device in ["null", "zero", "tty", "ptmx"] { try image.symlink("/dev/" + device, to: canary + "/passwd") }
        try image.symlink("/dev/pts", to: canary)
        let reference = try image.push(name: "symlinked-devices")
        let result = try sh("stat -c %F /dev/null /dev/zero /dev/tty; echo x > /dev/null && cat /dev/null", image: reference)
        try #require(result.status == 0, "\(result.output)")
        #expect(result.stdout == "character special file\ncharacter special file\ncharacter special file\n")
        try expectUntouched(canary)
    }

    @Test func aSetuidRootProgramInTheImageGainsNothing() throws {
        let image = try SandboxTestImage(in: project)
        try image.install(try SandboxScope.current().probe, at: "/bin/identity", mode: 0o4755)
        let reference = try image.push(name: "setuid")
        let result = try run(["/bin/identity", "identity"], image: reference)
        try #require(result.status == 0, "\(result.output)")
        #expect(result.stdout.contains("euid=\(getuid()) "), "\(result.stdout)")
        #expect(result.stdout.contains("CapEff:\t0000000000000000"), "\(result.stdout)")
        #expect(result.stdout.contains("CapPrm:\t0000000000000000"), "\(result.stdout)")
        #expect(result.stdout.contains("NoNewPrivs:\t1"), "\(result.stdout)")
    }

    @Test func imagesWithMoreLayersThanOneMountOptionStringHoldsRun() throws {
        // 70 layers of 64-character names do not fit in the page mount(2) takes.
        let image = try SandboxTestImage(in: project)
        let reference = try image.push(name: "many-layers", extraLayers: 69)
        let result = try sh("ls /stack | wc -l; cat /stack/0 /stack/68", image: reference)
        #expect(result.status == 0, "\(result.output)")
        #expect(result.stdout == "69\n0\n68\n")
    }

    @Test func imagesWithMoreLayersThanOneOverlayStacksRun() throws {
        // scripts/fixtures/deep.sh (umoci): 600 layers where the kernel stacks 500 per overlay;
        // layer 550 whites out /layers/5, which sits in the nested overlay of the bottom layers.
        let reference = "\(try TestEnvironment.registry())/fixtures/deep:latest"
        let result = try sh("cat /top /layers/1 /layers/101 /layers/102 /layers/600; ls /layers | wc -l; test -e /layers/5 || echo whited-out",
                            image: reference)
        #expect(result.status == 0, "\(result.output)")
        #expect(result.stdout == "600\n1\n101\n102\n600\n599\nwhited-out\n", "\(result.output)")
    }
}
