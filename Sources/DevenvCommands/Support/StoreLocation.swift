import Foundation
import Layers
import OCI
import Storage

#if canImport(Glibc)
import Glibc
#endif

/// The store's directories (docs/architecture.md, "Store layout"): `oci/`, `layers/`, `envs/`,
/// `tmp/`.
struct StoreLocation {
    let root: String

    init(explicit: String?, environment: [String: String] = ProcessInfo.processInfo.environment) throws {
        if let explicit, !explicit.isEmpty {
            root = Self.absolute(explicit)
        } else if let home = environment["DEVENV_HOME"], !home.isEmpty {
            root = Self.absolute(home)
        } else if geteuid() == 0 {
            root = "/var/lib/devenv"
        } else if let xdg = environment["XDG_DATA_HOME"], xdg.hasPrefix("/") {
            root = xdg + "/devenv"
        } else {
            root = (environment["HOME"] ?? NSHomeDirectory()) + "/.local/share/devenv"
        }
        try makePrivate()
    }

    var oci: String { root + "/oci" }
    var layers: String { root + "/layers" }
    var envs: String { root + "/envs" }
    var tmp: String { root + "/tmp" }

    func contentStore() throws -> ContentStore { try ContentStore(path: oci, tmpDirectory: tmp) }
    func layerStore() -> LayerStore { LayerStore(path: layers, tmpDirectory: tmp) }

    static func absolute(_ path: String) -> String {
        if path.hasPrefix("/") { return path }
        if path == "~" || path.hasPrefix("~/") { return NSHomeDirectory() + path.dropFirst() }
        return FileManager.default.currentDirectoryPath + "/" + path
    }
}
