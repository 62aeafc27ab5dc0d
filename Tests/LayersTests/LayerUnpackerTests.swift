import Foundation
import Glibc
import Layers
import TestSupport
import Testing

/// What an unpacked layer looks like for each kind of entry. These tests run as root, as CI does:
/// ownership, device nodes and trusted.* need it, and they fail rather than skip without it.
@Suite struct LayerUnpackerTests {
    /// security.capability v2 granting cap_net_raw, permitted and effective, as on /usr/bin/ping.
    static let netRawCapability: [UInt8] = [0x01, 0, 0, 0x02, 0x00, 0x20, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]

    @Test func unpacksEveryEntryTypeWithItsAttributes() throws {
        try #require(geteuid() == 0, "needs root, as in CI")
        let scratch = try ScratchDirectory()
        let layer = try scratch.make("layer")
        let entries: [TarWriter.Entry] = [
            TarWriter.Entry.directory("./", mode: 0o755).with { $0.mtime = 1_500_000_000 },
            .directory("etc/"),
            TarWriter.Entry.file("etc/hostname", "devenv\n").with { $0.mtime = 1_600_000_123; $0.mtimeNanoseconds = 456_789_000 },
            .symlink("etc/localtime", to: "/usr/share/zoneinfo/Etc/UTC"),
            .directory("home/"),
            TarWriter.Entry.directory("home/user/", mode: 0o750, uid: 1000, gid: 1000).with { $0.mtime = 1_600_000_500 },
            .file("home/user/notes", "hi", mode: 0o600, uid: 1000, gid: 1000),
            .directory("usr/"),
            .directory("usr/bin/"),
            .file("usr/bin/su", "#!su", mode: 0o4755),
            .file("usr/bin/wall", "#!wall", mode: 0o2755, gid: 5),
            TarWriter.Entry.file("usr/bin/ping", "#!ping", mode: 0o755).with {
                $0.xattrs = [("security.capability", Self.netRawCapability), ("user.foo", Array("bar".utf8)), ("trusted.devenv", [1, 2, 0, 3])]
            },
            .hardlink("usr/bin/ping6", to: "usr/bin/ping"),
            TarWriter.Entry.symlink("usr/bin/sh", to: "dash").with { $0.uid = 1000; $0.gid = 1001; $0.mtime = 1_600_000_777 },
            .directory("tmp/", mode: 0o1777),
            .fifo("run/initctl", mode: 0o600),
            .characterDevice("dev/null", major: 1, minor: 3),
            TarWriter.Entry(path: "dev/loop0", kind: .blockDevice(major: 7, minor: 0), mode: 0o660, gid: 6),
            .characterDevice("lib/udev/devices/console", major: 5, minor: 1, mode: 0o600),
            .directory("readonly/", mode: 0o555),
            .file("readonly/inside", "x"),
            .directory("locked/", mode: 0o000),
            .directory("locked/deeper/", mode: 0o700),
            .file("locked/deeper/file", "y"),
        ]
        let summary = try LayerUnpacker().unpack(archivePath: try scratch.archive(entries), into: layer)

        #expect(summary.entries == entries.count)
        let fileBytes = entries.reduce(0) { total, entry in
            if case .file(let content) = entry.kind { return total + content.count }
            return total
        }
        #expect(summary.bytes == Int64(fileBytes))
        #expect(summary.whiteouts == 0 && summary.skippedDevices == 0 && summary.skippedXattrs == 0)

        let root = try #require(FileInspection.lstatus(layer))
        #expect(FileInspection.permissions(root) == 0o755)
        #expect(root.st_mtim.tv_sec == 1_500_000_000)

        let hostname = try #require(FileInspection.lstatus(layer + "/etc/hostname"))
        #expect(FileInspection.type(hostname) == S_IFREG && FileInspection.permissions(hostname) == 0o644)
        #expect(FileInspection.text(layer + "/etc/hostname") == "devenv\n")
        #expect(hostname.st_mtim.tv_sec == 1_600_000_123 && hostname.st_mtim.tv_nsec == 456_789_000)
        #expect(FileInspection.symlinkTarget(layer + "/etc/localtime") == "/usr/share/zoneinfo/Etc/UTC")

        // Directory times are those of the archive even though members were created afterwards.
        let home = try #require(FileInspection.lstatus(layer + "/home/user"))
        #expect(FileInspection.permissions(home) == 0o750 && home.st_uid == 1000 && home.st_gid == 1000)
        #expect(home.st_mtim.tv_sec == 1_600_000_500)
        let notes = try #require(FileInspection.lstatus(layer + "/home/user/notes"))
        #expect(notes.st_uid == 1000 && notes.st_gid == 1000 && FileInspection.permissions(notes) == 0o600)

        let su = try #require(FileInspection.lstatus(layer + "/usr/bin/su"))
        #expect(FileInspection.permissions(su) == 0o4755 && su.st_uid == 0)
        let wall = try #require(FileInspection.lstatus(layer + "/usr/bin/wall"))
        #expect(FileInspection.permissions(wall) == 0o2755 && wall.st_gid == 5)

        let ping = try #require(FileInspection.lstatus(layer + "/usr/bin/ping"))
        #expect(FileInspection.xattr(layer + "/usr/bin/ping", "security.capability") == Self.netRawCapability)
        #expect(FileInspection.xattr(layer + "/usr/bin/ping", "user.foo") == Array("bar".utf8))
        #expect(FileInspection.xattr(layer + "/usr/bin/ping", "trusted.devenv") == [1, 2, 0, 3])
        let ping6 = try #require(FileInspection.lstatus(layer + "/usr/bin/ping6"))
        #expect(ping6.st_ino == ping.st_ino && ping.st_nlink == 2)

        let sh = try #require(FileInspection.lstatus(layer + "/usr/bin/sh"))
        #expect(FileInspection.type(sh) == S_IFLNK && FileInspection.symlinkTarget(layer + "/usr/bin/sh") == "dash")
        #expect(sh.st_uid == 1000 && sh.st_gid == 1001 && sh.st_mtim.tv_sec == 1_600_000_777)

        let tmp = try #require(FileInspection.lstatus(layer + "/tmp"))
        #expect(FileInspection.permissions(tmp) == 0o1777)
        let fifo = try #require(FileInspection.lstatus(layer + "/run/initctl"))
        #expect(FileInspection.type(fifo) == S_IFIFO && FileInspection.permissions(fifo) == 0o600)

        let null = try #require(FileInspection.lstatus(layer + "/dev/null"))
        #expect(FileInspection.type(null) == S_IFCHR && FileInspection.permissions(null) == 0o666)
        #expect(FileInspection.major(null.st_rdev) == 1 && FileInspection.minor(null.st_rdev) == 3)
        let loop = try #require(FileInspection.lstatus(layer + "/dev/loop0"))
        #expect(FileInspection.type(loop) == S_IFBLK && loop.st_gid == 6 && FileInspection.permissions(loop) == 0o660)
        #expect(FileInspection.major(loop.st_rdev) == 7 && FileInspection.minor(loop.st_rdev) == 0)
        let console = try #require(FileInspection.lstatus(layer + "/lib/udev/devices/console"))
        #expect(FileInspection.type(console) == S_IFCHR && FileInspection.major(console.st_rdev) == 5)

        // Modes that deny the owner are applied last, after the members went in.
        #expect(FileInspection.lstatus(layer + "/readonly").map(FileInspection.permissions) == 0o555)
        #expect(FileInspection.text(layer + "/readonly/inside") == "x")
        #expect(FileInspection.lstatus(layer + "/locked").map(FileInspection.permissions) == 0o000)
        #expect(FileInspection.text(layer + "/locked/deeper/file") == "y")
    }

    @Test(arguments: ScratchDirectory.Compression.allCases)
    func detectsCompressionFromContent(_ compression: ScratchDirectory.Compression) throws {
        let scratch = try ScratchDirectory()
        let layer = try scratch.make("layer")
        let archive = try scratch.archive([.directory("etc/"), .file("etc/os-release", "ID=debian\n")], compression: compression)
        let summary = try LayerUnpacker().unpack(archivePath: archive, into: layer)
        #expect(summary.entries == 2)
        #expect(FileInspection.text(layer + "/etc/os-release") == "ID=debian\n")
    }

    @Test func emptyArchivesAreEmptyLayers() throws {
        let scratch = try ScratchDirectory()
        for (index, bytes) in [[], [UInt8](repeating: 0, count: 1024)].enumerated() {
            let layer = try scratch.make("layer\(index)")
            let summary = try LayerUnpacker().unpack(archivePath: try scratch.archive(bytes: bytes, name: "empty\(index).tar"), into: layer)
            #expect(summary.entries == 0)
            #expect(FileInspection.list(layer).isEmpty)
        }
    }

    @Test func sparseFilesKeepTheirHoles() throws {
        let scratch = try ScratchDirectory()
        let layer = try scratch.make("layer")
        let size = 64 << 20
        let head = [UInt8](repeating: 0xab, count: 4096)
        let middle = Array("middle of nowhere".utf8)
        let archive = try scratch.archive([
            TarWriter.Entry(path: "var/lib/big.img", kind: .sparse(size: size, chunks: [(0, head), (40 << 20, middle)]), mode: 0o640),
        ], compression: .gzip)
        let summary = try LayerUnpacker().unpack(archivePath: archive, into: layer)
        #expect(summary.bytes == Int64(head.count + middle.count))

        let path = layer + "/var/lib/big.img"
        let info = try #require(FileInspection.lstatus(path))
        try #require(Int(info.st_size) == size)
        #expect(Int(info.st_blocks) * 512 < 1 << 20, "holes were written out as zeros")
        #expect(FileInspection.permissions(info) == 0o640)
        let data = try #require(FileInspection.contents(path))
        #expect(Array(data[0..<4096]) == head)
        #expect(Array(data[(40 << 20)..<((40 << 20) + middle.count)]) == middle)
        #expect(data[10 << 20] == 0 && data[size - 1] == 0)
    }

    @Test func largeFilesArriveIntact() throws {
        let scratch = try ScratchDirectory()
        let layer = try scratch.make("layer")
        var generator = SplitMix64(seed: 42)
        let content = (0..<(5 << 20)).map { _ in UInt8(truncatingIfNeeded: generator.next()) }
        let archive = try scratch.archive([.file("opt/blob.bin", bytes: content)], compression: .zstd)
        let summary = try LayerUnpacker().unpack(archivePath: archive, into: layer)
        #expect(summary.bytes == Int64(content.count))
        #expect(FileInspection.contents(layer + "/opt/blob.bin") == content)
    }

    @Test func longAndNonASCIINames() throws {
        let scratch = try ScratchDirectory()
        let layer = try scratch.make("layer")
        let long = String(repeating: "a", count: 120) + "/" + String(repeating: "b", count: 120) + "/" + String(repeating: "c", count: 60)
        let longTarget = "/" + String(repeating: "t", count: 150)
        try LayerUnpacker().unpack(archivePath: try scratch.archive([
            .file(long, "deep"),
            .symlink("long-link", to: longTarget),
            .hardlink("hard-to-long", to: long),
            .directory("café/"),
            .file("café/naïve.txt", "ünïcödé"),
            .symlink("zoneinfo-link", to: "Europe/Zürich"),
        ]), into: layer)
        #expect(FileInspection.text(layer + "/" + long) == "deep")
        #expect(FileInspection.symlinkTarget(layer + "/long-link") == longTarget)
        #expect(FileInspection.lstatus(layer + "/hard-to-long")?.st_ino == FileInspection.lstatus(layer + "/" + long)?.st_ino)
        #expect(FileInspection.text(layer + "/café/naïve.txt") == "ünïcödé")
        #expect(FileInspection.symlinkTarget(layer + "/zoneinfo-link") == "Europe/Zürich")
    }

    @Test func laterEntriesReplaceEarlierOnes() throws {
        try #require(geteuid() == 0, "needs root, as in CI")
        let scratch = try ScratchDirectory()
        let layer = try scratch.make("layer")
        try LayerUnpacker().unpack(archivePath: try scratch.archive([
            .file("twice", "first"),
            .file("twice", "second"),
            .file("becomes-dir", "file"),
            .directory("becomes-dir/"),
            .directory("becomes-file/"),
            .directory("becomes-file/sub/"),
            .file("becomes-file/sub/member", "gone"),
            .file("becomes-file", "now a file"),
            .directory("kept/", mode: 0o755),
            .file("kept/member", "stays"),
            .directory("kept/", mode: 0o700, uid: 7, gid: 8),
            .symlink("was-link", to: "twice"),
            .file("was-link", "real"),
            .file("was-file", "file"),
            .symlink("was-file", to: "twice"),
        ]), into: layer)
        #expect(FileInspection.text(layer + "/twice") == "second")
        #expect(FileInspection.lstatus(layer + "/becomes-dir").map(FileInspection.type) == S_IFDIR)
        #expect(FileInspection.text(layer + "/becomes-file") == "now a file")
        let kept = try #require(FileInspection.lstatus(layer + "/kept"))
        #expect(FileInspection.permissions(kept) == 0o700 && kept.st_uid == 7 && kept.st_gid == 8)
        #expect(FileInspection.text(layer + "/kept/member") == "stays")
        #expect(FileInspection.lstatus(layer + "/was-link").map(FileInspection.type) == S_IFREG)
        #expect(FileInspection.symlinkTarget(layer + "/was-file") == "twice")
    }

    @Test func impliedParentsLookLikeTheLowerLayers() throws {
        try #require(geteuid() == 0, "needs root, as in CI")
        let scratch = try ScratchDirectory()
        let host = try scratch.make("host", mode: 0o700)
        chown(host, 1234, 1234)
        // Topmost lower layer: has usr/ but usr/local only as a file, and srv as a symlink to the
        // host, which must not be followed for attributes either.
        let upper = try scratch.make("lower-upper")
        try makeDirectory(upper + "/usr", mode: 0o751, owner: (0, 0), mtime: 1_111_111_111)
        _ = FileManager.default.createFile(atPath: upper + "/usr/local", contents: Data("file".utf8))
        try setMtime(upper + "/usr", 1_111_111_111)
        symlink(host, upper + "/srv")
        // Bottom lower layer: has usr/local as a setgid, group-owned directory.
        let lower = try scratch.make("lower-bottom")
        try makeDirectory(lower + "/usr", mode: 0o755, owner: (0, 0), mtime: 1_000_000_000)
        try makeDirectory(lower + "/usr/local", mode: 0o2775, owner: (0, 50), mtime: 1_234_567_890)
        try setMtime(lower + "/usr", 1_000_000_000)

        let layer = try scratch.make("layer")
        try LayerUnpacker().unpack(
            archivePath: try scratch.archive([.file("usr/local/bin/tool", "#!tool", mode: 0o755), .file("srv/www/index.html", "<p>")]),
            into: layer,
            lowerLayers: [upper, lower]
        )
        let usr = try #require(FileInspection.lstatus(layer + "/usr"))
        #expect(FileInspection.permissions(usr) == 0o751 && usr.st_mtim.tv_sec == 1_111_111_111)
        let local = try #require(FileInspection.lstatus(layer + "/usr/local"))
        #expect(FileInspection.permissions(local) == 0o2775 && local.st_gid == 50 && local.st_mtim.tv_sec == 1_234_567_890)
        let bin = try #require(FileInspection.lstatus(layer + "/usr/local/bin"))
        #expect(FileInspection.permissions(bin) == 0o755 && bin.st_uid == 0 && bin.st_gid == 0)
        let srv = try #require(FileInspection.lstatus(layer + "/srv"))
        #expect(FileInspection.type(srv) == S_IFDIR && FileInspection.permissions(srv) == 0o755 && srv.st_uid == 0)
        #expect(FileInspection.text(layer + "/usr/local/bin/tool") == "#!tool")
    }

    @Test func withoutPrivilegeOptionsOwnersAreOursAndDevDevicesAreSkipped() throws {
        let scratch = try ScratchDirectory()
        let layer = try scratch.make("layer")
        let summary = try LayerUnpacker(preserveOwnership: false, allowDevices: false).unpack(archivePath: try scratch.archive([
            .file("etc/motd", "hi", uid: 1000, gid: 1000),
            .characterDevice("dev/null", major: 1, minor: 3),
            .characterDevice("dev/pts/ptmx", major: 5, minor: 2),
            .fifo("dev/initctl"),
        ]), into: layer)
        #expect(summary.skippedDevices == 2)
        #expect(summary.entries == 4)
        #expect(FileInspection.lstatus(layer + "/etc/motd")?.st_uid == geteuid())
        #expect(FileInspection.lstatus(layer + "/dev/null") == nil)
        #expect(FileInspection.lstatus(layer + "/dev/initctl").map(FileInspection.type) == S_IFIFO)
    }

    @Test func targetMustBeEmpty() throws {
        let scratch = try ScratchDirectory()
        let layer = try scratch.make("layer")
        _ = FileManager.default.createFile(atPath: layer + "/leftover", contents: Data())
        let error = #expect(throws: LayerError.self) {
            try LayerUnpacker().unpack(archivePath: try scratch.archive([.file("a", "a")]), into: layer)
        }
        #expect(error?.code == .invalidTarget)
    }

    @Test func corruptArchivesAreReported() throws {
        let scratch = try ScratchDirectory()
        let layer = try scratch.make("layer")
        var bytes = TarWriter([.file("a", String(repeating: "x", count: 5000))]).archive
        bytes.removeLast(3000)
        let error = #expect(throws: LayerError.self) {
            try LayerUnpacker().unpack(archivePath: try scratch.archive(bytes: bytes), into: layer)
        }
        #expect(error?.code == .corruptArchive)
        #expect(error?.entry == "a")

        let garbage = try scratch.archive(bytes: Array("this is not a tar archive at all".utf8), name: "garbage")
        let other = try scratch.make("other")
        let formatError = #expect(throws: LayerError.self) {
            try LayerUnpacker().unpack(archivePath: garbage, into: other)
        }
        #expect(formatError?.code == .corruptArchive)
        #expect(formatError?.description.contains("garbage") == true)
    }
}

func makeDirectory(_ path: String, mode: mode_t, owner: (uid_t, gid_t), mtime: Int) throws {
    guard mkdir(path, mode) == 0, chown(path, owner.0, owner.1) == 0, chmod(path, mode) == 0 else {
        throw POSIXFailure("making \(path)", errno)
    }
    try setMtime(path, mtime)
}

func setMtime(_ path: String, _ mtime: Int) throws {
    let stamp = timespec(tv_sec: mtime, tv_nsec: 0)
    var times = [stamp, stamp]
    guard utimensat(AT_FDCWD, path, &times, AT_SYMLINK_NOFOLLOW) == 0 else {
        throw POSIXFailure("utimensat \(path)", errno)
    }
}

/// Deterministic bytes for big test files.
struct SplitMix64 {
    var state: UInt64

    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9e37_79b9_7f4a_7c15
        var z = state
        z = (z ^ (z >> 30)) &* 0xbf58_476d_1ce4_e5b9
        z = (z ^ (z >> 27)) &* 0x94d0_49bb_1331_11eb
        return z ^ (z >> 31)
    }
}
