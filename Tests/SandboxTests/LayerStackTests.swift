import CLinux
import Foundation
@testable import Sandbox
import TestSupport
import Testing

/// Layers built by hand with the `userxattr` conventions the unpacker writes.
@Suite(.tags(.rootless)) final class LayerStackTests {
    let scratch: TemporaryDirectory
    let root: String

    init() throws {
        scratch = try TemporaryDirectory("layerstack")
        root = scratch.path
    }

    func layer(_ name: String, files: [String: String] = [:], links: [String: String] = [:], whiteouts: [String] = [],
               opaque: [String] = []) throws -> String {
        let base = root + "/" + name
        try FileManager.default.createDirectory(atPath: base, withIntermediateDirectories: true)
        func parent(_ path: String) throws {
            try FileManager.default.createDirectory(atPath: (base + "/" + path as NSString).deletingLastPathComponent,
                                                    withIntermediateDirectories: true)
        }
        for (path, contents) in files {
            try parent(path)
            try Data(contents.utf8).write(to: URL(fileURLWithPath: base + "/" + path))
            chmod(base + "/" + path, 0o755)
        }
        for (path, target) in links {
            try parent(path)
            try FileManager.default.createSymbolicLink(atPath: base + "/" + path, withDestinationPath: target)
        }
        for path in whiteouts {
            try parent(path)
            // A whiteout (char 0/0) needs no privilege since Linux 5.8.
            try #require(mknod(base + "/" + path, S_IFCHR | 0o000, 0) == 0, "mknod whiteout: \(String(cString: strerror(errno)))")
        }
        for path in opaque {
            try FileManager.default.createDirectory(atPath: base + "/" + path, withIntermediateDirectories: true)
            try #require(lsetxattr(base + "/" + path, "user.overlay.opaque", "y", 1, 0) == 0, "set opaque xattr")
        }
        return base
    }

    @Test func theTopmostLayerWins() throws {
        let stack = LayerStack(bottomFirst: [
            try layer("a", files: ["etc/passwd": "bottom", "etc/group": "group"]),
            try layer("b", files: ["etc/passwd": "top"]),
        ])
        #expect(stack.contents(of: "/etc/passwd") == Data("top".utf8))
        #expect(stack.contents(of: "/etc/group") == Data("group".utf8))
        #expect(stack.contents(of: "/etc/shadow") == nil)
    }

    @Test func whiteoutsAndOpaqueDirectoriesHideLowerLayers() throws {
        let stack = LayerStack(bottomFirst: [
            try layer("a", files: ["etc/passwd": "x", "opt/tool/bin": "x", "bin/bash": "x"]),
            try layer("b", whiteouts: ["etc/passwd", "bin"], opaque: ["opt/tool"]),
        ])
        #expect(stack.contents(of: "/etc/passwd") == nil)
        #expect(stack.contents(of: "/opt/tool/bin") == nil)
        #expect(!stack.isExecutable("/bin/bash"))
    }

    @Test func symlinksResolveInsideTheImage() throws {
        let stack = LayerStack(bottomFirst: [
            try layer("a", files: ["usr/bin/bash": "#!", "etc/real": "real"]),
            try layer("b", links: ["bin": "usr/bin", "etc/passwd": "../../../../etc/real", "etc/loop": "loop", "etc/host": "/etc/real"]),
        ])
        #expect(stack.isExecutable("/bin/bash"))
        // ".." above the root stays at the root, as it does in the sandbox.
        #expect(stack.contents(of: "/etc/passwd") == Data("real".utf8))
        #expect(stack.contents(of: "/etc/host") == Data("real".utf8))
        #expect(stack.contents(of: "/etc/loop") == nil)
    }
}
