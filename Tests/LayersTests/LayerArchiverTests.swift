import CLinux
import Foundation
import Glibc
import Layers
import TestSupport
import Testing

/// Archiving a layer directory in overlayfs `userxattr` form, checked against an independent reader
/// (Python's tarfile), the real gzip and sha256sum, and the unpacker.
@Suite struct LayerArchiverTests {
    @Test func writesMembersInOrderWithWhiteoutsAndWithoutOverlayXattrs() throws {
        let scratch = try ScratchDirectory()
        let upper = try UpperDirectory(scratch)
        let output = scratch.path + "/layer.tar.gz"
        let archive = try LayerArchiver().archive(directory: upper.path, to: output)

        let members = try TarListing.read(output)
        #expect(members.map(\.name) == [
            // A whiteout sorts under the name it hides.
            "etc", "etc/link", "etc/motd", "etc/.wh.shadow",
            "run", "run/pipe",
            "usr", "usr/bin", "usr/bin/tool", "usr/bin/tool-again",
            "usr/share", "usr/share/caf\u{e9}", "usr/share/long-\(UpperDirectory.longName)",
            "var", "var/lib", "var/lib/.wh..wh..opq", "var/lib/fresh",
        ])
        #expect(archive.entries == members.count)
        let byName = Dictionary(uniqueKeysWithValues: members.map { ($0.name, $0) })

        let whiteout = try #require(byName["etc/.wh.shadow"])
        #expect(whiteout.type == "0" && whiteout.size == 0)
        let opaque = try #require(byName["var/lib/.wh..wh..opq"])
        #expect(opaque.type == "0" && opaque.size == 0)
        #expect(byName["var/lib"]?.type == "5")

        #expect(byName["etc/link"].map { ($0.type, $0.linkname) } ?? ("", "") == ("2", "motd"))
        #expect(byName["run/pipe"].map { ($0.type, $0.mode) } ?? ("", 0) == ("6", 0o600))
        let tool = try #require(byName["usr/bin/tool"])
        #expect(tool.type == "0" && tool.mode == 0o4755 && tool.size == 6)
        #expect(tool.mtime == "1700000000.123456789")
        #expect(byName["usr/bin/tool-again"].map { ($0.type, $0.linkname, $0.size) } ?? ("", "", -1) == ("1", "usr/bin/tool", 0))
        #expect(byName["usr/share/caf\u{e9}"]?.size == 4)

        #expect(byName["etc/motd"]?.pax["SCHILY.xattr.user.note"] == Array("kept".utf8))
        let paxKeys = members.flatMap { $0.pax.keys }
        #expect(!paxKeys.contains { $0.contains("overlay") }, "\(paxKeys)")
        #expect(!paxKeys.contains { $0.hasPrefix("LIBARCHIVE.") || $0 == "atime" || $0 == "ctime" }, "\(paxKeys)")
    }

    @Test func unpackingTheArchiveGivesTheSameTree() throws {
        let scratch = try ScratchDirectory()
        let upper = try UpperDirectory(scratch)
        let output = scratch.path + "/layer.tar.gz"
        _ = try LayerArchiver().archive(directory: upper.path, to: output)
        let unpacked = try scratch.make("unpacked")
        try LayerUnpacker().unpack(archivePath: output, into: unpacked)

        // The whiteout device gets no mode or times from the unpacker, and the root is no member.
        func comparable(_ root: String) -> [String: TreeSnapshot.Node] {
            var nodes = TreeSnapshot(root).nodes
            nodes["."] = nil
            nodes["etc/shadow"] = nil
            return nodes.mapValues { node in
                var node = node
                node.ctime = []
                node.xattrs["user.overlay.origin"] = nil
                return node
            }
        }
        let expected = comparable(upper.path)
        let actual = comparable(unpacked)
        #expect(actual == expected, "differs: \(Set(expected.keys).union(actual.keys).filter { expected[$0] != actual[$0] }.sorted())")

        let whiteout = try #require(FileInspection.lstatus(unpacked + "/etc/shadow"))
        #expect(FileInspection.type(whiteout) == S_IFCHR && whiteout.st_rdev == 0)
        #expect(FileInspection.lstatus(unpacked + "/usr/bin/tool")?.st_ino == FileInspection.lstatus(unpacked + "/usr/bin/tool-again")?.st_ino)
    }

    @Test func digestsAreThoseOfTheFileAndOfTheTarInside() throws {
        let scratch = try ScratchDirectory()
        let upper = try UpperDirectory(scratch)
        // Several read buffers and libarchive blocks long, and barely compressible.
        let random = try #require(FileHandle(forReadingAtPath: "/dev/urandom"))
        let big = Array(random.readData(ofLength: (3 << 20) + 12345))
        try write(upper.path + "/usr/share/big", bytes: big)
        let output = scratch.path + "/layer.tar.gz"
        let archive = try LayerArchiver().archive(directory: upper.path, to: output)

        #expect(archive.digest == String(try runTool("sha256sum", [output]).prefix(64)))
        #expect(archive.diffID == String(try runTool("sh", ["-c", "gzip -dc \"$1\" | sha256sum", "sh", output]).prefix(64)))
        #expect(archive.size == FileInspection.lstatus(output).map { Int64($0.st_size) })
        // gzip -t fails on trailing garbage, such as padding after the gzip stream.
        try runTool("gzip", ["-t", output])
        let bytes = try #require(FileInspection.contents(output))
        #expect(bytes[4..<8] == [0, 0, 0, 0], "the gzip header carries no timestamp")
        let extracted = try runTool("sh", ["-c", "tar -xzOf \"$1\" usr/share/big | sha256sum", "sh", output]).prefix(64)
        #expect(extracted == (try runTool("sha256sum", [upper.path + "/usr/share/big"]).prefix(64)))
    }

    @Test func sameTreeGivesTheSameBytes() throws {
        let scratch = try ScratchDirectory()
        let upper = try UpperDirectory(scratch)
        let first = try LayerArchiver().archive(directory: upper.path, to: scratch.path + "/first.tar.gz")
        let second = try LayerArchiver().archive(directory: upper.path, to: scratch.path + "/second.tar.gz")
        #expect(first == second)
        #expect(FileInspection.contents(scratch.path + "/first.tar.gz") == FileInspection.contents(scratch.path + "/second.tar.gz"))
    }

    /// Creation order and inode numbers differ between the copies; readdir's order follows them.
    @Test func copiesMadeInAnotherOrderGiveTheSameBytesSortedByName() throws {
        let scratch = try ScratchDirectory()
        let names = ["b", "a", "C", "\u{e4}", "a.b", "a-b", "_", "~"]
        var digests: [String] = []
        for (index, order) in [names, names.reversed()].enumerated() {
            let root = try scratch.make("copy\(index)")
            for name in order {
                try write(root + "/" + name, name)
            }
            for name in names + [""] {
                try setTimes(root + "/" + name, seconds: 1_650_000_000, nanoseconds: 5)
            }
            let output = scratch.path + "/copy\(index).tar.gz"
            digests.append(try LayerArchiver().archive(directory: root, to: output).digest)
            #expect(try TarListing.read(output).map(\.name) == ["C", "_", "a", "a-b", "a.b", "b", "~", "\u{e4}"])
        }
        #expect(digests[0] == digests[1])
    }

    @Test func anEmptyDirectoryGivesAnEmptyTar() throws {
        let scratch = try ScratchDirectory()
        let empty = try scratch.make("empty")
        let output = scratch.path + "/layer.tar.gz"
        let archive = try LayerArchiver().archive(directory: empty, to: output)
        #expect(archive.entries == 0)
        #expect(try runTool("sh", ["-c", "gzip -dc \"$1\" | wc -c", "sh", output]).trimmingCharacters(in: .whitespacesAndNewlines) == "1024")
    }

    @Test func aMissingDirectoryThrowsAndLeavesNoOutput() throws {
        let scratch = try ScratchDirectory()
        let output = scratch.path + "/layer.tar.gz"
        let error = #expect(throws: LayerError.self) {
            _ = try LayerArchiver().archive(directory: scratch.path + "/missing", to: output)
        }
        #expect(error?.code == .invalidSource && error?.errno == ENOENT)
        #expect(FileInspection.lstatus(output) == nil)
    }

    @Test func aSymlinkedDirectoryIsNotFollowed() throws {
        let scratch = try ScratchDirectory()
        let real = try scratch.make("real")
        try check(symlink(real, scratch.path + "/link"), "symlink")
        let error = #expect(throws: LayerError.self) {
            _ = try LayerArchiver().archive(directory: scratch.path + "/link", to: scratch.path + "/layer.tar.gz")
        }
        #expect(error?.code == .invalidSource)
    }

    @Test func anExistingOutputIsNeitherReplacedNorRemoved() throws {
        let scratch = try ScratchDirectory()
        let empty = try scratch.make("empty")
        let output = scratch.path + "/layer.tar.gz"
        try write(output, "precious")
        let error = #expect(throws: LayerError.self) {
            _ = try LayerArchiver().archive(directory: empty, to: output)
        }
        #expect(error?.errno == EEXIST)
        #expect(FileInspection.text(output) == "precious")
    }

    /// A tar would make it a whiteout, so the layer would delete a file instead of adding one.
    @Test func aFileNamedLikeAWhiteoutIsRefused() throws {
        let scratch = try ScratchDirectory()
        let root = try scratch.make("upper")
        _ = try scratch.make("upper/etc")
        try write(root + "/etc/.wh.passwd", "not a whiteout")
        let output = scratch.path + "/layer.tar.gz"
        let error = #expect(throws: LayerError.self) {
            _ = try LayerArchiver().archive(directory: root, to: output)
        }
        #expect(error?.code == .invalidEntry && error?.entry == "etc/.wh.passwd")
        #expect(FileInspection.lstatus(output) == nil)
    }

    /// Needs root: chown to other owners, `security.capability` and `trusted.*` xattrs, a real device.
    @Test func translatesOwnersAndKeepsCapabilitiesAndDevices() throws {
        try #require(geteuid() == 0, "chown, security.capability, trusted.* and mknod need root, as in CI")
        let scratch = try ScratchDirectory()
        let root = try scratch.make("upper")
        _ = try scratch.make("upper/bin")
        _ = try scratch.make("upper/dev")
        _ = try scratch.make("upper/home")
        _ = try scratch.make("upper/home/user")
        try write(root + "/bin/ping", "ping", mode: 0o755)
        // VFS_CAP_REVISION_2 granting cap_net_raw (bit 13), effective.
        let capability: [UInt8] = [0x01, 0x00, 0x00, 0x02, 0x00, 0x20, 0x00, 0x00] + [UInt8](repeating: 0, count: 12)
        try check(setxattr(root + "/bin/ping", "security.capability", capability, capability.count, 0), "setxattr")
        try check(setxattr(root + "/home", "trusted.overlay.impure", "y", 1, 0), "setxattr")
        try check(mknod(root + "/dev/null", S_IFCHR | 0o666, gnu_dev_makedev(1, 3)), "mknod")
        try check(chmod(root + "/dev/null", 0o666), "chmod")
        try write(root + "/home/user/notes", "notes")
        // A rootless store: image root is host 100000, image user 1000 is host 101000.
        for path in ["", "/bin", "/bin/ping", "/dev", "/dev/null", "/home"] {
            try check(lchown(root + path, 100_000, 100_000), "lchown")
        }
        try check(lchown(root + "/home/user", 101_000, 101_050), "lchown")
        try check(lchown(root + "/home/user/notes", 101_000, 101_050), "lchown")
        // chown clears the capability; set it again.
        try check(setxattr(root + "/bin/ping", "security.capability", capability, capability.count, 0), "setxattr")

        let output = scratch.path + "/layer.tar.gz"
        let subtract: @Sendable (UInt32) -> UInt32 = { $0 >= 100_000 ? $0 - 100_000 : 65534 }
        _ = try LayerArchiver(hostToArchiveUID: subtract, hostToArchiveGID: subtract).archive(directory: root, to: output)

        let members = try TarListing.read(output)
        #expect(members.map(\.name) == ["bin", "bin/ping", "dev", "dev/null", "home", "home/user", "home/user/notes"])
        let owners = Dictionary(uniqueKeysWithValues: members.map { ($0.name, "\($0.uid):\($0.gid)") })
        #expect(owners == ["bin": "0:0", "bin/ping": "0:0", "dev": "0:0", "dev/null": "0:0", "home": "0:0", "home/user": "1000:1050", "home/user/notes": "1000:1050"])
        let byName = Dictionary(uniqueKeysWithValues: members.map { ($0.name, $0) })
        #expect(byName["bin/ping"]?.pax["SCHILY.xattr.security.capability"] == capability)
        #expect(byName["home"]?.pax.keys.contains { $0.contains("xattr") } == false)
        let null = try #require(byName["dev/null"])
        #expect(null.type == "3" && null.devmajor == 1 && null.devminor == 3 && null.mode == 0o666)
    }

    /// The case this exists for: what the kernel leaves in an upper directory after a step deleted,
    /// replaced and changed files through a `userxattr` overlay mount.
    @Test func archivesAKernelWrittenUpperDirectory() throws {
        try #require(geteuid() == 0, "mounting needs root, as in CI")
        let scratch = try ScratchDirectory()
        let lower = try scratch.make("lower")
        let upper = try scratch.make("upper")
        let work = try scratch.make("work")
        let merged = try scratch.make("merged")
        _ = try scratch.make("lower/etc")
        _ = try scratch.make("lower/opt")
        try write(lower + "/etc/hosts", "old hosts")
        try write(lower + "/etc/passwd", "root:x:0:0")
        try write(lower + "/opt/stale", "stale")
        try runTool("mount", ["-t", "overlay", "-o", "userxattr,lowerdir=\(lower),upperdir=\(upper),workdir=\(work)", "overlay", merged])
        do {
            defer { _ = try? runTool("umount", [merged]) }
            try check(unlink(merged + "/etc/hosts"), "unlink")
            try write(merged + "/etc/passwd", "\nuser:x:1000:1000", append: true)
            try check(unlink(merged + "/opt/stale"), "unlink")
            try check(rmdir(merged + "/opt"), "rmdir")
            try check(mkdir(merged + "/opt", 0o755), "mkdir")
            try write(merged + "/opt/fresh", "fresh")
        }

        let output = scratch.path + "/layer.tar.gz"
        _ = try LayerArchiver().archive(directory: upper, to: output)
        let members = try TarListing.read(output)
        #expect(members.map(\.name) == ["etc", "etc/.wh.hosts", "etc/passwd", "opt", "opt/.wh..wh..opq", "opt/fresh"])
        #expect(!members.flatMap { $0.pax.keys }.contains { $0.contains("overlay") })

        let unpacked = try scratch.make("unpacked")
        try LayerUnpacker().unpack(archivePath: output, into: unpacked)
        #expect(FileInspection.lstatus(unpacked + "/etc/hosts").map { FileInspection.type($0) == S_IFCHR && $0.st_rdev == 0 } == true)
        #expect(FileInspection.xattr(unpacked + "/opt", "user.overlay.opaque") == Array("y".utf8))
        #expect(FileInspection.text(unpacked + "/etc/passwd") == "root:x:0:0\nuser:x:1000:1000")
    }

    /// Needs root only to drop it: the thread's filesystem uid becomes nobody's, so a root-only file
    /// is unreadable.
    @Test func anUnreadableFileIsAnErrorNamingIt() throws {
        try #require(geteuid() == 0, "switching the filesystem uid needs root, as in CI")
        let scratch = try ScratchDirectory()
        let root = try scratch.make("upper")
        _ = try scratch.make("upper/etc")
        try write(root + "/etc/shadow", "secret", mode: 0o600)
        let outputs = try scratch.make("out")
        try check(chown(outputs, 65534, 65534), "chown")
        let output = outputs + "/layer.tar.gz"

        _ = setfsgid(65534)
        _ = setfsuid(65534)
        defer {
            _ = setfsuid(0)
            _ = setfsgid(0)
        }
        let error = #expect(throws: LayerError.self) {
            _ = try LayerArchiver().archive(directory: root, to: output)
        }
        #expect(error?.code == .system && error?.errno == EACCES && error?.entry == "etc/shadow")
        #expect(error?.description.contains(root + "/etc/shadow") == true, "\(String(describing: error))")
        #expect(FileInspection.lstatus(output) == nil)
    }
}

/// An upper directory as a step leaves it, built with plain system calls: every member type, a
/// setuid file, hardlinks, an xattr, overlay metadata that must stay out, a whiteout and an opaque
/// directory, a non-ASCII name and a name too long for ustar.
private struct UpperDirectory {
    static let longName = String(repeating: "x", count: 120)
    let path: String

    init(_ scratch: ScratchDirectory) throws {
        path = try scratch.make("upper")
        for directory in ["etc", "run", "usr", "usr/bin", "usr/share", "var", "var/lib"] {
            _ = try scratch.make("upper/" + directory)
        }
        try write(path + "/etc/motd", "hello")
        try check(setxattr(path + "/etc/motd", "user.note", "kept", 4, 0), "setxattr")
        try check(setxattr(path + "/etc/motd", "user.overlay.origin", "\u{1}", 1, 0), "setxattr")
        try check(symlink("motd", path + "/etc/link"), "symlink")
        // Any user may create a 0/0 character device, the overlayfs whiteout, since Linux 5.8.
        try check(mknod(path + "/etc/shadow", S_IFCHR | 0o644, 0), "mknod whiteout")
        try check(mkfifo(path + "/run/pipe", 0o600), "mkfifo")
        try check(chmod(path + "/run/pipe", 0o600), "chmod")
        try write(path + "/usr/bin/tool", "#!tool", mode: 0o4755)
        try check(link(path + "/usr/bin/tool", path + "/usr/bin/tool-again"), "link")
        try write(path + "/usr/share/caf\u{e9}", "cafe")
        try write(path + "/usr/share/long-" + Self.longName, "long")
        try check(setxattr(path + "/var/lib", "user.overlay.opaque", "y", 1, 0), "setxattr")
        try write(path + "/var/lib/fresh", "fresh")
        try setTimes(path + "/usr/bin/tool", seconds: 1_700_000_000, nanoseconds: 123_456_789)
        try setTimes(path + "/etc/link", seconds: 1_600_000_000, nanoseconds: 1)
    }
}

/// A tar member as Python's tarfile reads it.
private struct TarListing: Decodable {
    var name: String
    var type: String
    var mode: Int
    var uid: Int
    var gid: Int
    var size: Int
    var linkname: String
    var devmajor: Int
    var devminor: Int
    /// The pax `mtime` record when there is one, else the ustar seconds.
    var mtime: String
    var pax: [String: [UInt8]]

    static let script = """
        import json, sys, tarfile
        members = []
        with tarfile.open(sys.argv[1], "r:gz") as archive:
            for m in archive:
                members.append({
                    "name": m.name, "type": m.type.decode(), "mode": m.mode, "uid": m.uid, "gid": m.gid,
                    "size": m.size, "linkname": m.linkname, "devmajor": m.devmajor, "devminor": m.devminor,
                    "mtime": m.pax_headers.get("mtime", str(int(m.mtime))),
                    "pax": {k: list(v.encode("utf-8", "surrogateescape")) for k, v in m.pax_headers.items()},
                })
        print(json.dumps(members))
        """

    static func read(_ path: String) throws -> [TarListing] {
        try JSONDecoder().decode([TarListing].self, from: Data(try runTool("python3", ["-c", script, path]).utf8))
    }
}

private func check(_ result: Int32, _ what: String) throws {
    guard result == 0 else { throw POSIXFailure(what, errno) }
}

private func write(_ path: String, _ text: String, mode: mode_t = 0o644, append: Bool = false) throws {
    try write(path, bytes: Array(text.utf8), mode: mode, append: append)
}

private func write(_ path: String, bytes: [UInt8], mode: mode_t = 0o644, append: Bool = false) throws {
    let descriptor = open(path, O_WRONLY | O_CREAT | (append ? O_APPEND : O_EXCL) | O_CLOEXEC, mode)
    guard descriptor >= 0 else { throw POSIXFailure("open \(path)", errno) }
    defer { close(descriptor) }
    guard Glibc.write(descriptor, bytes, bytes.count) == bytes.count else { throw POSIXFailure("write \(path)", errno) }
    try check(fchmod(descriptor, mode), "fchmod \(path)")
}

private func setTimes(_ path: String, seconds: Int, nanoseconds: Int) throws {
    let time = timespec(tv_sec: seconds, tv_nsec: nanoseconds)
    try check(utimensat(AT_FDCWD, path, [time, time], AT_SYMLINK_NOFOLLOW), "utimensat \(path)")
}
