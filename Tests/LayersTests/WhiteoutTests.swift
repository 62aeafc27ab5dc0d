import Foundation
import Glibc
import Layers
import TestSupport
import Testing

/// Whiteouts in overlay2's form, and proof that overlayfs reads the result the way the layers meant.
@Suite struct WhiteoutTests {
    @Test func whiteoutsBecomeZeroZeroCharacterDevicesAndOpaqueMarkersXattrs() throws {
        let scratch = try ScratchDirectory()
        let layer = try scratch.make("layer")
        let summary = try LayerUnpacker().unpack(archivePath: try scratch.archive([
            .directory("etc/"),
            .whiteout("etc/.wh.passwd"),
            .directory("var/"),
            .directory("var/lib/"),
            .whiteout("var/lib/.wh..wh..opq"),
            .file("var/lib/fresh", "new"),
            // The directory is implied only by its opaque marker.
            .whiteout("opt/app/.wh..wh..opq"),
            // A whiteout replaces what this same layer put there, directory and all.
            .directory("srv/old/"),
            .file("srv/old/member", "x"),
            .whiteout("srv/.wh.old"),
        ]), into: layer)
        #expect(summary.whiteouts == 2)
        #expect(summary.opaqueDirectories == 2)

        for path in ["etc/passwd", "srv/old"] {
            let info = try #require(FileInspection.lstatus(layer + "/" + path))
            #expect(FileInspection.type(info) == S_IFCHR, "\(path)")
            #expect(info.st_rdev == 0, "\(path)")
        }
        #expect(FileInspection.lstatus(layer + "/etc/.wh.passwd") == nil)
        #expect(FileInspection.xattr(layer + "/var/lib", "user.overlay.opaque") == Array("y".utf8))
        #expect(FileInspection.xattr(layer + "/opt/app", "user.overlay.opaque") == Array("y".utf8))
        #expect(FileInspection.lstatus(layer + "/var/lib/.wh..wh..opq") == nil)
        #expect(FileInspection.text(layer + "/var/lib/fresh") == "new")
        #expect(FileInspection.xattr(layer + "/var", "user.overlay.opaque") == nil)
    }

    /// A whiteout is only a name: whatever type, link target or data the member carries is ignored.
    @Test func whiteoutMembersCarryNothingElse() throws {
        let scratch = try ScratchDirectory()
        let host = try scratch.make("host")
        let layer = try scratch.make("layer")
        try LayerUnpacker().unpack(archivePath: try scratch.archive([
            .symlink(".wh.link", to: host),
            .hardlink(".wh.hard", to: "../host/canary"),
            .file(".wh.data", "payload"),
        ]), into: layer)
        #expect(FileInspection.tree(layer) == ["data", "hard", "link"])
        for name in ["data", "hard", "link"] {
            let info = try #require(FileInspection.lstatus(layer + "/" + name))
            #expect(FileInspection.type(info) == S_IFCHR && info.st_rdev == 0)
        }
        #expect(FileInspection.tree(host).isEmpty)
    }

    /// Unpacks three layers and mounts them the way the sandbox will: overlayfs, read-only,
    /// `userxattr`, one lowerdir per layer.
    @Test func overlayfsShowsTheMergedResult() throws {
        try #require(geteuid() == 0, "mounting needs root, as in CI")
        let scratch = try ScratchDirectory()
        let base = try scratch.make("l1")
        let middle = try scratch.make("l2")
        let top = try scratch.make("l3")
        let unpacker = LayerUnpacker()
        try unpacker.unpack(archivePath: try scratch.archive([
            .directory("etc/"),
            .file("etc/passwd", "root:x:0:0"),
            .file("etc/hosts", "127.0.0.1 localhost"),
            .directory("opt/"),
            .file("opt/old/a", "old"),
            .file("opt/keep", "keep"),
            .file("usr/bin/tool", "v1"),
            .file("var/log/dpkg.log", "log"),
        ], name: "l1.tar", compression: .gzip), into: base)
        try unpacker.unpack(archivePath: try scratch.archive([
            .whiteout("etc/.wh.hosts"),
            .directory("opt/"),
            .whiteout("opt/.wh..wh..opq"),
            .file("opt/new", "new"),
            .file("usr/bin/tool", "v2"),
        ], name: "l2.tar", compression: .gzip), into: middle, lowerLayers: [base])
        try unpacker.unpack(archivePath: try scratch.archive([
            .file("etc/motd", "hello"),
            .whiteout("var/.wh.log"),
            .file("srv/data", "data"),
        ], name: "l3.tar", compression: .zstd), into: top, lowerLayers: [middle, base])

        let mountPoint = try scratch.make("merged")
        try runTool("mount", ["-t", "overlay", "-o", "ro,userxattr,lowerdir=\(top):\(middle):\(base)", "overlay", mountPoint])
        defer { _ = try? runTool("umount", [mountPoint]) }

        #expect(FileInspection.tree(mountPoint) == [
            "etc", "etc/motd", "etc/passwd",
            "opt", "opt/new",
            "srv", "srv/data",
            "usr", "usr/bin", "usr/bin/tool",
            "var",
        ])
        #expect(FileInspection.text(mountPoint + "/usr/bin/tool") == "v2")
        #expect(FileInspection.text(mountPoint + "/etc/passwd") == "root:x:0:0")
        #expect(FileInspection.text(mountPoint + "/etc/motd") == "hello")
        #expect(FileInspection.text(mountPoint + "/opt/new") == "new")
    }
}
