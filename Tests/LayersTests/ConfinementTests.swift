import Foundation
import Glibc
import Layers
import TestSupport
import Testing

/// Archives that try to reach outside the layer. Each runs in a sandbox: `base/layer` is the target
/// and `base/host` stands for the rest of the machine, with a canary file, a directory and a nested
/// file. After every unpack, everything under `base` except the layer must be exactly as before:
/// contents, modes, owners, xattrs, mtimes and ctimes.
@Suite struct ConfinementTests {
    final class Sandbox {
        let scratch: ScratchDirectory
        let base: String
        let layer: String
        let host: String
        let archives: String

        init() throws {
            scratch = try ScratchDirectory()
            base = try scratch.make("base")
            archives = try scratch.make("archives")
            host = base + "/host"
            layer = base + "/layer"
            for directory in [host, host + "/dir", layer] {
                guard mkdir(directory, 0o755) == 0 else { throw POSIXFailure("mkdir \(directory)", errno) }
            }
            _ = FileManager.default.createFile(atPath: host + "/canary", contents: Data("canary\n".utf8))
            _ = FileManager.default.createFile(atPath: host + "/dir/nested", contents: Data("nested\n".utf8))
        }

        /// Everything the unpack must not touch.
        func outside() -> TreeSnapshot {
            TreeSnapshot(base, excluding: ["layer"])
        }

        func archive(_ entries: [TarWriter.Entry]) throws -> String {
            let path = archives + "/layer-\(UInt64.random(in: 0 ... .max)).tar"
            try Data(TarWriter(entries).archive).write(to: URL(fileURLWithPath: path))
            return path
        }
    }

    /// Unpacks `entries` (made knowing where the sandbox is), expects a LayerError with `code` that
    /// names `entry`, and checks that nothing outside the layer changed.
    func expectRejected(
        _ entry: String,
        _ code: LayerError.Code,
        unpacker: LayerUnpacker = LayerUnpacker(),
        sourceLocation: SourceLocation = #_sourceLocation,
        _ entries: (Sandbox) -> [TarWriter.Entry]
    ) throws {
        try expectRejected({ _ in entry }, code, unpacker: unpacker, sourceLocation: sourceLocation, entries)
    }

    func expectRejected(
        _ entryInSandbox: (Sandbox) -> String,
        _ code: LayerError.Code,
        unpacker: LayerUnpacker = LayerUnpacker(),
        sourceLocation: SourceLocation = #_sourceLocation,
        _ entries: (Sandbox) -> [TarWriter.Entry]
    ) throws {
        let sandbox = try Sandbox()
        let entry = entryInSandbox(sandbox)
        let archive = try sandbox.archive(entries(sandbox))
        let before = sandbox.outside()
        let error = #expect(throws: LayerError.self, sourceLocation: sourceLocation) {
            try unpacker.unpack(archivePath: archive, into: sandbox.layer)
        }
        #expect(error?.entry == entry, sourceLocation: sourceLocation)
        #expect(error?.code == code, "\(String(describing: error))", sourceLocation: sourceLocation)
        #expect(error?.description.contains("layer entry \"\(entry)\": ") == true, "\(String(describing: error))", sourceLocation: sourceLocation)
        let after = sandbox.outside()
        #expect(after == before, "changed outside the layer: \(after.difference(from: before))", sourceLocation: sourceLocation)
    }

    /// Unpacks `entries`, which must succeed, and checks that nothing outside the layer changed.
    func expectConfined(
        sourceLocation: SourceLocation = #_sourceLocation,
        _ entries: (Sandbox) -> [TarWriter.Entry],
        then check: (Sandbox) throws -> Void
    ) throws {
        let sandbox = try Sandbox()
        let archive = try sandbox.archive(entries(sandbox))
        let before = sandbox.outside()
        try LayerUnpacker().unpack(archivePath: archive, into: sandbox.layer)
        let after = sandbox.outside()
        #expect(after == before, "changed outside the layer: \(after.difference(from: before))", sourceLocation: sourceLocation)
        try check(sandbox)
    }

    @Test func dotDotPath() throws {
        try expectRejected("../x", .pathEscapes) { _ in [.file("../x", "pwned")] }
        try expectRejected("../host/canary", .pathEscapes) { _ in [.file("../host/canary", "pwned")] }
    }

    @Test func dotDotInsideAPath() throws {
        try expectRejected("a/../../x", .pathEscapes) { _ in [.directory("a/"), .file("a/../../x", "pwned")] }
    }

    @Test func absolutePath() throws {
        try #require(FileInspection.lstatus("/etc/x") == nil)
        try expectRejected("/etc/x", .pathEscapes) { _ in [.file("/etc/x", "pwned")] }
        #expect(FileInspection.lstatus("/etc/x") == nil)
        try expectRejected({ $0.host + "/canary" }, .pathEscapes) { sandbox in [.file(sandbox.host + "/canary", "pwned")] }
        try expectRejected({ $0.host + "/" }, .pathEscapes) { sandbox in [.directory(sandbox.host + "/", mode: 0o777)] }
    }

    @Test func fileThroughSymlinkToAbsoluteHostDirectory() throws {
        try expectRejected("evil/file", .symlinkInPath) { sandbox in [.symlink("evil", to: sandbox.host), .file("evil/file", "pwned")] }
        try expectRejected("evil/canary", .symlinkInPath) { sandbox in [.symlink("evil", to: sandbox.host), .file("evil/canary", "pwned")] }
        try expectRejected("evil/dir/", .symlinkInPath) { sandbox in [.symlink("evil", to: sandbox.host), .directory("evil/dir/", mode: 0o777)] }
    }

    @Test func fileThroughSymlinkToParent() throws {
        try expectRejected("evil/x", .symlinkInPath) { _ in [.symlink("evil", to: ".."), .file("evil/x", "pwned")] }
        try expectRejected("evil/host/canary", .symlinkInPath) { _ in [.symlink("evil", to: ".."), .file("evil/host/canary", "pwned")] }
    }

    @Test func symlinkDeeperInThePath() throws {
        try expectRejected("a/b/host/canary", .symlinkInPath) { _ in
            [.directory("a/"), .symlink("a/b", to: "../.."), .file("a/b/host/canary", "pwned")]
        }
    }

    @Test func symlinkNamedDot() throws {
        try expectRejected(".", .invalidEntry) { _ in [.symlink(".", to: "..")] }
        try expectRejected("./", .invalidEntry) { sandbox in [.symlink("./", to: sandbox.host)] }
    }

    /// The walk caches open parent directories; a directory replaced by a symlink must not be
    /// reached through a stale descriptor, nor through the new symlink.
    @Test func directoryReplacedBySymlinkAfterUse() throws {
        try expectRejected("d/y", .symlinkInPath) { sandbox in
            [.directory("d/"), .file("d/x", "x"), .symlink("d", to: sandbox.host), .file("d/y", "pwned")]
        }
    }

    /// Directory times are applied at the end; a directory since replaced by a symlink to the host
    /// must not pass its times (or mode) on to the symlink's target.
    @Test func pendingDirectoryAttributesDoNotFollowAReplacement() throws {
        try expectConfined { sandbox in
            [
                TarWriter.Entry.directory("d/", mode: 0o700).with { $0.mtime = 1_000 },
                TarWriter.Entry.directory("d/sub/", mode: 0o500).with { $0.mtime = 2_000 },
                .symlink("d", to: sandbox.host),
            ]
        } then: { sandbox in
            #expect(FileInspection.symlinkTarget(sandbox.layer + "/d") == sandbox.host)
        }
    }

    @Test func hardlinkToAbsoluteHostFile() throws {
        try expectRejected("x", .pathEscapes) { sandbox in [.hardlink("x", to: sandbox.host + "/canary")] }
    }

    @Test func hardlinkToRelativeEscape() throws {
        try expectRejected("x", .pathEscapes) { _ in [.hardlink("x", to: "../host/canary")] }
        try expectRejected("x", .pathEscapes) { _ in [.directory("a/"), .hardlink("x", to: "a/../../host/canary")] }
    }

    @Test func hardlinkThroughPlantedSymlink() throws {
        try expectRejected("x", .symlinkInPath) { sandbox in [.symlink("evil", to: sandbox.host), .hardlink("x", to: "evil/canary")] }
        try expectRejected("x", .symlinkInPath) { _ in [.symlink("evil", to: ".."), .hardlink("x", to: "evil/host/canary")] }
    }

    @Test func hardlinkToNothing() throws {
        try expectRejected("x", .invalidHardlink) { _ in [.hardlink("x", to: "missing")] }
        try expectRejected("x", .invalidHardlink) { _ in [.hardlink("x", to: "missing/deeper")] }
        try expectRejected("x", .invalidHardlink) { _ in [.hardlink("x", to: "x")] }
        try expectRejected("x", .invalidHardlink) { _ in [.hardlink("x", to: "./")] }
    }

    /// Linking to a planted symlink links the symlink itself; a file written later at that name
    /// replaces it instead of writing through it.
    @Test func hardlinkToASymlinkLinksTheSymlink() throws {
        try expectConfined { sandbox in
            [.symlink("s", to: sandbox.host + "/canary"), .hardlink("h", to: "s"), .file("h", "pwned")]
        } then: { sandbox in
            #expect(FileInspection.symlinkTarget(sandbox.layer + "/s") == sandbox.host + "/canary")
            #expect(FileInspection.text(sandbox.layer + "/h") == "pwned")
        }
    }

    @Test(arguments: [".wh.", ".wh..", ".wh...", ".wh..wh.foo", ".wh..wh..wh..opq", "etc/.wh."])
    func invalidWhiteoutNames(_ name: String) throws {
        try expectRejected(name, .invalidWhiteout) { _ in [.directory("etc/"), .whiteout(name)] }
    }

    @Test func whiteoutNameAsDirectory() throws {
        try expectRejected(".wh.etc/passwd", .invalidWhiteout) { _ in [.file(".wh.etc/passwd", "x")] }
    }

    @Test func whiteoutsCannotEscape() throws {
        try expectRejected("../host/.wh.canary", .pathEscapes) { _ in [.whiteout("../host/.wh.canary")] }
    }

    /// umoci writes a directory turned into a symlink as the symlink followed by whiteouts below
    /// it. Those must neither follow the symlink (deleting something elsewhere) nor fail the layer.
    @Test func whiteoutsBelowASymlinkOfThisLayerAreIgnored() throws {
        let cases: [(Sandbox) -> [TarWriter.Entry]] = [
            { sandbox in [.symlink("evil", to: sandbox.host), .whiteout("evil/.wh.canary")] },
            { sandbox in [.symlink("evil", to: sandbox.host), .whiteout("evil/.wh..wh..opq")] },
            { _ in [.symlink("evil", to: "../host"), .whiteout("evil/dir/.wh..wh..opq")] },
            { _ in [.file("plain", "x"), .whiteout("plain/.wh.child")] },
        ]
        for entries in cases {
            let sandbox = try Sandbox()
            let before = sandbox.outside()
            let summary = try LayerUnpacker().unpack(archivePath: sandbox.archive(entries(sandbox)), into: sandbox.layer)
            #expect(summary.ignoredWhiteouts == 1)
            #expect(summary.whiteouts == 0 && summary.opaqueDirectories == 0)
            #expect(sandbox.outside() == before)
            #expect(try FileManager.default.contentsOfDirectory(atPath: sandbox.layer).count == 1)
        }
    }

    @Test(arguments: ["trusted.overlay.opaque", "user.overlay.opaque", "trusted.overlay.redirect", "user.overlay.whiteout", "user.overlay.metacopy"])
    func overlayXattrs(_ name: String) throws {
        try expectRejected("etc/", .forbiddenXattr) { _ in
            [TarWriter.Entry.directory("etc/").with { $0.xattrs = [(name, Array("y".utf8))] }]
        }
        try expectRejected("etc/passwd", .forbiddenXattr) { _ in
            [TarWriter.Entry.file("etc/passwd", "root").with { $0.xattrs = [("user.ok", [1]), (name, Array("y".utf8))] }]
        }
    }

    @Test func devicesOutsideDevWhenNotAllowed() throws {
        let unpacker = LayerUnpacker(preserveOwnership: true, allowDevices: false)
        try expectRejected("etc/evil", .deviceNotAllowed, unpacker: unpacker) { _ in [.characterDevice("etc/evil", major: 8, minor: 0)] }
        try expectRejected("dev", .deviceNotAllowed, unpacker: unpacker) { _ in [.characterDevice("dev", major: 1, minor: 3)] }
        try expectRejected("usr/dev/sda", .deviceNotAllowed, unpacker: unpacker) { _ in
            [TarWriter.Entry(path: "usr/dev/sda", kind: .blockDevice(major: 8, minor: 0), mode: 0o660)]
        }
    }

    /// Every kind of entry written where an earlier entry planted a symlink to the host replaces
    /// the symlink.
    @Test func entriesReplacePlantedSymlinksInsteadOfWritingThroughThem() throws {
        try expectConfined { sandbox in
            [
                .symlink("file", to: sandbox.host + "/canary"),
                .file("file", "pwned"),
                .symlink("relative", to: "../host/canary"),
                .file("relative", "pwned"),
                .symlink("dir", to: sandbox.host),
                .directory("dir/", mode: 0o777),
                .file("dir/canary", "pwned"),
                .symlink("fifo", to: sandbox.host + "/canary"),
                .fifo("fifo"),
                .symlink("device", to: sandbox.host + "/canary"),
                .characterDevice("dev/device-placeholder", major: 1, minor: 3),
                .symlink("link", to: sandbox.host + "/canary"),
                .file("real", "real"),
                .hardlink("link", to: "real"),
                .symlink("wh", to: sandbox.host + "/canary"),
                .whiteout(".wh.wh"),
                .symlink("again", to: sandbox.host),
                .symlink("again", to: sandbox.host + "/dir"),
            ]
        } then: { sandbox in
            let layer = sandbox.layer
            #expect(FileInspection.text(layer + "/file") == "pwned")
            #expect(FileInspection.lstatus(layer + "/file").map(FileInspection.type) == S_IFREG)
            #expect(FileInspection.text(layer + "/relative") == "pwned")
            #expect(FileInspection.lstatus(layer + "/dir").map(FileInspection.type) == S_IFDIR)
            #expect(FileInspection.text(layer + "/dir/canary") == "pwned")
            #expect(FileInspection.lstatus(layer + "/fifo").map(FileInspection.type) == S_IFIFO)
            #expect(FileInspection.lstatus(layer + "/link")?.st_ino == FileInspection.lstatus(layer + "/real")?.st_ino)
            let whiteout = try #require(FileInspection.lstatus(layer + "/wh"))
            #expect(FileInspection.type(whiteout) == S_IFCHR && whiteout.st_rdev == 0)
            #expect(FileInspection.symlinkTarget(layer + "/again") == sandbox.host + "/dir")
        }
    }

    /// Random archives built from hostile pieces: paths through "..", absolute paths, symlinks to
    /// the host, to "..", to "/", hardlinks out, whiteouts, entries reusing names with other types.
    /// Whatever each one does or fails with, the host must not change.
    @Test func randomHostileArchivesNeverTouchTheHost() throws {
        var random = SplitMix64(seed: 7)
        func pick<T>(_ items: [T]) -> T { items[Int(random.next() % UInt64(items.count))] }
        let sandboxForNames = try Sandbox()
        let names = ["a", "b", "evil", "host", "..", ".", "canary", "dir", ".wh.a", ".wh..wh..opq", "dev", ""]
        let targets = ["..", "../..", "/", "../host", "../host/canary", sandboxForNames.host, sandboxForNames.host + "/canary", "a", "a/b", "evil/canary", "."]
        var failures = 0
        for round in 0..<300 {
            let sandbox = try Sandbox()
            var entries: [TarWriter.Entry] = []
            for _ in 0..<Int(3 + random.next() % 8) {
                let depth = Int(1 + random.next() % 3)
                var path = (0..<depth).map { _ in pick(names) }.joined(separator: "/")
                // Half the time go below an earlier entry, which may by now be a planted symlink.
                if !entries.isEmpty && random.next() % 2 == 0 {
                    path = pick(entries).path.split(separator: "/").joined(separator: "/") + "/" + pick(names)
                }
                let target = pick(targets).replacingOccurrences(of: sandboxForNames.base, with: sandbox.base)
                switch random.next() % 6 {
                case 0: entries.append(.file(path, "pwned \(round)", mode: 0o777))
                case 1: entries.append(.directory(path + "/", mode: 0o777))
                case 2, 3: entries.append(.symlink(path, to: target))
                case 4: entries.append(.hardlink(path, to: target))
                default: entries.append(.whiteout(path + "/.wh." + pick(names)))
                }
            }
            let archive = try sandbox.archive(entries)
            let before = sandbox.outside()
            do {
                try LayerUnpacker().unpack(archivePath: archive, into: sandbox.layer)
            } catch let error as LayerError {
                // A file named "x/" has data libarchive does not expect and reads as a damaged header.
                #expect(error.entry != nil || error.code == .corruptArchive, "\(error) from \(entries.map(\.path))")
                failures += 1
            }
            let after = sandbox.outside()
            #expect(after == before, "round \(round) changed \(after.difference(from: before)) with \(entries.map(\.path))")
        }
        // Most of these archives are hostile somewhere; if none failed, the generator is broken.
        #expect(failures > 100)
    }
}
