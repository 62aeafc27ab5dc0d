import Foundation
import TestSupport
import Testing

/// A tiny image the sandbox tests build themselves, for content no fixture has (symlinks aimed
/// at the host, a setuid-root program): a root filesystem directory made into one uncompressed
/// layer with GNU tar (owner root, so it works rootless too), a hand-written OCI layout, and
/// skopeo to push it to the test registry.
struct SandboxTestImage {
    let rootfs: String
    private let work: String

    init(in temp: TemporaryDirectory) throws {
        work = temp.path + "/image-\(UUID().uuidString.prefix(8))"
        rootfs = work + "/rootfs"
        try FileManager.default.createDirectory(atPath: rootfs + "/bin", withIntermediateDirectories: true)
        // busybox-static: a shell and the usual tools, with nothing to load from the image.
        try FileManager.default.copyItem(atPath: "/bin/busybox", toPath: rootfs + "/bin/busybox")
        for tool in ["sh", "ls", "cat", "stat", "id", "echo", "touch", "readlink", "test", "hostname"] {
            try FileManager.default.createSymbolicLink(atPath: rootfs + "/bin/" + tool, withDestinationPath: "busybox")
        }
    }

    func symlink(_ path: String, to target: String) throws {
        try FileManager.default.createDirectory(atPath: rootfs + (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try FileManager.default.createSymbolicLink(atPath: rootfs + path, withDestinationPath: target)
    }

    func install(_ source: String, at path: String, mode: Int) throws {
        try FileManager.default.createDirectory(atPath: rootfs + (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: source, toPath: rootfs + path)
        #expect(chmod(rootfs + path, mode_t(mode)) == 0)
    }

    /// Pushes the image as `<registry>/sandbox-tests/<name>:<unique tag>` and returns that
    /// reference. `extraLayers` layers follow the root filesystem's, layer N adding /stack/N.
    func push(name: String, extraLayers: Int = 0) throws -> String {
        let layout = work + "/layout"
        let blobs = layout + "/blobs/sha256"
        try FileManager.default.createDirectory(atPath: blobs, withIntermediateDirectories: true)
        var directories = [rootfs]
        for number in 0..<extraLayers {
            let directory = work + "/extra-\(number)"
            try FileManager.default.createDirectory(atPath: directory + "/stack", withIntermediateDirectories: true)
            try Data("\(number)\n".utf8).write(to: URL(fileURLWithPath: directory + "/stack/\(number)"))
            directories.append(directory)
        }
        var layers: [(digest: String, size: Int)] = []
        for (number, directory) in directories.enumerated() {
            let file = work + "/layer-\(number).tar"
            let tar = try Shell.run("tar", ["--create", "--file", file, "--sort=name", "--owner=0", "--group=0", "--numeric-owner",
                                            "-C", directory, "."])
            try #require(tar.status == 0, "tar: \(tar.output)")
            let layer = try Data(contentsOf: URL(fileURLWithPath: file))
            layers.append((try store(layer, in: blobs), layer.count))
        }
        let architecture = ["x86_64": "amd64", "aarch64": "arm64"][try Shell.run("uname", ["-m"]).stdout.trimmingCharacters(in: .whitespacesAndNewlines)] ?? "amd64"
        let config = try JSONSerialization.data(withJSONObject: [
            "architecture": architecture, "os": "linux",
            "config": ["Env": ["PATH=/bin"]],
            "rootfs": ["type": "layers", "diff_ids": layers.map(\.digest)],
        ], options: [.sortedKeys])
        let configDigest = try store(config, in: blobs)
        let manifest = try JSONSerialization.data(withJSONObject: [
            "schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": ["mediaType": "application/vnd.oci.image.config.v1+json", "digest": configDigest, "size": config.count],
            "layers": layers.map { ["mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": $0.digest, "size": $0.size] as [String: Any] },
        ] as [String: Any], options: [.sortedKeys])
        let manifestDigest = try store(manifest, in: blobs)
        let index = try JSONSerialization.data(withJSONObject: [
            "schemaVersion": 2,
            "manifests": [["mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": manifestDigest, "size": manifest.count,
                           "annotations": ["org.opencontainers.image.ref.name": "latest"]] as [String: Any]],
        ] as [String: Any])
        try index.write(to: URL(fileURLWithPath: layout + "/index.json"))
        try Data(#"{"imageLayoutVersion":"1.0.0"}"#.utf8).write(to: URL(fileURLWithPath: layout + "/oci-layout"))

        let reference = "\(try TestEnvironment.registry())/sandbox-tests/\(name):\(UUID().uuidString.prefix(12).lowercased())"
        let copy = try Shell.run("skopeo", ["copy", "--quiet", "--dest-tls-verify=false", "oci:\(layout):latest", "docker://\(reference)"])
        try #require(copy.status == 0, "skopeo copy: \(copy.output)")
        return reference
    }

    private func store(_ data: Data, in blobs: String) throws -> String {
        let hex = TreeSnapshot.sha256(data)
        try data.write(to: URL(fileURLWithPath: blobs + "/" + hex))
        return "sha256:" + hex
    }
}
