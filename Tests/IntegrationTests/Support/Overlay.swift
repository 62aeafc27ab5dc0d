import Foundation
import TestSupport
import Testing

/// Mounts the overlay of a pulled image's layer directories the way the sandbox will (read-only,
/// `userxattr`), so tests can compare the merged view with another tool's unpack.
struct Overlay {
    let mountpoint: String

    /// `layers` bottom first. overlayfs needs two lower directories when there is no upper one,
    /// so an empty directory goes at the bottom.
    init(layers: [String], in temp: TemporaryDirectory) throws {
        mountpoint = temp.path + "/merged-\(UUID().uuidString.prefix(8))"
        let empty = temp.path + "/empty-lower"
        try FileManager.default.createDirectory(atPath: mountpoint, withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: empty, withIntermediateDirectories: true)
        let lowers = (layers + [empty]).reversed().joined(separator: ":")
        let result = try Shell.run("/bin/mount", ["-t", "overlay", "overlay", "-o", "ro,userxattr,lowerdir=\(lowers)", mountpoint])
        try #require(result.status == 0, "mount overlay: \(result.output)")
    }

    func unmount() {
        _ = try? Shell.run("/bin/umount", [mountpoint])
    }
}

/// Reads a store's index.json and image config to find the unpacked layer directories of `ref`.
struct StoreInspector {
    let store: String

    func layerDirectories(of ref: String) throws -> [String] {
        let index = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: store + "/oci/index.json"))) as? [String: Any]
        let manifests = index?["manifests"] as? [[String: Any]] ?? []
        let entry = try #require(manifests.first { ($0["annotations"] as? [String: String])?["org.opencontainers.image.ref.name"] == ref },
                                 "\(ref) is not in index.json")
        let manifest = try json(blob: entry["digest"] as! String)
        let config = try json(blob: (manifest["config"] as! [String: Any])["digest"] as! String)
        let diffIDs = (config["rootfs"] as! [String: Any])["diff_ids"] as! [String]
        var chain: [String] = []
        for diffID in diffIDs {
            if let parent = chain.last {
                chain.append("sha256:" + TreeSnapshot.sha256(Data("\(parent) \(diffID)".utf8)))
            } else {
                chain.append(diffID)
            }
        }
        return chain.map { store + "/layers/" + $0.dropFirst(7) }
    }

    func json(blob digest: String) throws -> [String: Any] {
        let data = try Data(contentsOf: URL(fileURLWithPath: blobPath(digest)))
        return try JSONSerialization.jsonObject(with: data) as! [String: Any]
    }

    func blobPath(_ digest: String) -> String { store + "/oci/blobs/sha256/" + digest.dropFirst(7) }

    func layerBlobs(of ref: String) throws -> [String] {
        let index = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: store + "/oci/index.json"))) as? [String: Any]
        let manifests = index?["manifests"] as? [[String: Any]] ?? []
        let entry = try #require(manifests.first { ($0["annotations"] as? [String: String])?["org.opencontainers.image.ref.name"] == ref })
        let manifest = try json(blob: entry["digest"] as! String)
        return (manifest["layers"] as! [[String: Any]]).map { $0["digest"] as! String }
    }
}
