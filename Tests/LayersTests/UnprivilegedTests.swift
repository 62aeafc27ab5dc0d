import CLinux
import Foundation
import Glibc
import Layers
import Testing

/// The unpack a rootless devenv does. The test process is root, so the calling thread's
/// filesystem uid and gid are switched to nobody for the unpack: that also drops the thread's
/// filesystem capabilities (CAP_CHOWN, CAP_DAC_OVERRIDE, CAP_FOWNER, CAP_MKNOD, ...), so file
/// operations are checked as for an ordinary user, while other threads are unaffected.
@Suite struct UnprivilegedTests {
    static let nobody: uid_t = 65534

    @Test func unpacksAsAnOrdinaryUser() throws {
        try #require(geteuid() == 0, "switching the filesystem uid needs root, as in CI")
        let scratch = try ScratchDirectory()
        let layer = try scratch.make("layer")
        chown(layer, Self.nobody, Self.nobody)
        let archive = try scratch.archive([
            .directory("./", mode: 0o755),
            .directory("etc/"),
            .file("etc/motd", "hello", uid: 1000, gid: 1000),
            .whiteout("etc/.wh.shadow"),
            TarWriter.Entry.file("etc/readonly-note", "note", mode: 0o444).with { $0.xattrs = [("user.note", Array("kept".utf8))] },
            TarWriter.Entry.symlink("etc/link", to: "motd").with { $0.xattrs = [("user.refused", [1])] },
            TarWriter.Entry.file("etc/labelled", "x").with { $0.xattrs = [("security.selinux", Array("system_u:object_r:etc_t:s0".utf8))] },
            .file("usr/bin/tool", "#!tool", mode: 0o4755),
            .hardlink("usr/bin/tool-again", to: "usr/bin/tool"),
            .directory("var/"),
            .directory("var/lib/"),
            .whiteout("var/lib/.wh..wh..opq"),
            .characterDevice("dev/null", major: 1, minor: 3),
            .directory("readonly/", mode: 0o555),
            .file("readonly/file", "first"),
            .directory("readonly/sub/", mode: 0o500),
            .file("readonly/sub/inner", "inner"),
            // Replacing inside directories whose final mode denies writing.
            .file("readonly/file", "second"),
            .fifo("readonly/sub/inner"),
        ], compression: .gzip)

        let summary = try asNobody {
            try LayerUnpacker(preserveOwnership: false, allowDevices: false).unpack(archivePath: archive, into: layer)
        }

        #expect(summary.skippedDevices == 1)
        #expect(summary.whiteouts == 1 && summary.opaqueDirectories == 1)
        #expect(summary.skippedXattrs == 2)
        #expect(FileInspection.lstatus(layer + "/etc/motd")?.st_uid == Self.nobody)
        let whiteout = try #require(FileInspection.lstatus(layer + "/etc/shadow"))
        #expect(FileInspection.type(whiteout) == S_IFCHR && whiteout.st_rdev == 0)
        #expect(FileInspection.xattr(layer + "/var/lib", "user.overlay.opaque") == Array("y".utf8))
        #expect(FileInspection.xattr(layer + "/etc/readonly-note", "user.note") == Array("kept".utf8))
        #expect(FileInspection.lstatus(layer + "/etc/readonly-note").map(FileInspection.permissions) == 0o444)
        #expect(FileInspection.xattrNames(layer + "/etc/labelled").isEmpty)
        #expect(FileInspection.lstatus(layer + "/usr/bin/tool").map(FileInspection.permissions) == 0o4755)
        #expect(FileInspection.lstatus(layer + "/usr/bin/tool")?.st_nlink == 2)
        #expect(FileInspection.lstatus(layer + "/dev/null") == nil)
        #expect(FileInspection.lstatus(layer + "/readonly").map(FileInspection.permissions) == 0o555)
        #expect(FileInspection.lstatus(layer + "/readonly/sub").map(FileInspection.permissions) == 0o500)
        #expect(FileInspection.text(layer + "/readonly/file") == "second")
        #expect(FileInspection.lstatus(layer + "/readonly/sub/inner").map(FileInspection.type) == S_IFIFO)
    }

    @Test func devicesOutsideDevFailWithoutPrivileges() throws {
        try #require(geteuid() == 0, "switching the filesystem uid needs root, as in CI")
        let scratch = try ScratchDirectory()
        let layer = try scratch.make("layer")
        chown(layer, Self.nobody, Self.nobody)
        let archive = try scratch.archive([.characterDevice("lib/evil", major: 1, minor: 1)])
        let error = try asNobody {
            #expect(throws: LayerError.self) {
                try LayerUnpacker(preserveOwnership: false, allowDevices: false).unpack(archivePath: archive, into: layer)
            }
        }
        #expect(error?.code == .deviceNotAllowed && error?.entry == "lib/evil")
    }

    /// Runs `body` with this thread's filesystem uid and gid set to nobody.
    func asNobody<T>(_ body: () throws -> T) throws -> T {
        let rootOwned = try ScratchDirectory()
        _ = setfsgid(Self.nobody)
        _ = setfsuid(Self.nobody)
        defer {
            _ = setfsuid(0)
            _ = setfsgid(0)
        }
        // setfsuid returns the previous id rather than an error; an invalid id just asks.
        try #require(setfsuid(UInt32.max) == Int32(Self.nobody))
        // Proof that root's filesystem privileges are gone.
        try #require(mkdir(rootOwned.path + "/probe", 0o755) != 0 && errno == EACCES, "still privileged")
        return try body()
    }
}
