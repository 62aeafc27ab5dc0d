import Crypto
import Foundation

/// The parts of an image configuration devenv uses: the root filesystem's diff ids (which name
/// unpacked layers) and the runtime defaults a sandbox honours.
public struct ImageConfig: Codable, Sendable {
    public struct RootFS: Codable, Sendable {
        public var type: String
        public var diff_ids: [Digest]
    }

    public struct RuntimeConfig: Codable, Sendable {
        public var User: String?
        public var Env: [String]?
        public var Entrypoint: [String]?
        public var Cmd: [String]?
        public var WorkingDir: String?

        public init() {}
    }

    public var architecture: String?
    public var os: String?
    public var created: String?
    public var config: RuntimeConfig?
    public var rootfs: RootFS

    /// OCI chain ids: the identity of each layer together with everything below it. An unpacked
    /// layer directory is named by its chain id, because what it looks like on disk (implicit
    /// parent directories copy their attributes from lower layers) depends on the layers below.
    public var chainIDs: [Digest] {
        var result: [Digest] = []
        for diffID in rootfs.diff_ids {
            guard let parent = result.last else {
                result.append(diffID)
                continue
            }
            result.append(Digest(hashing: Array("\(parent) \(diffID)".utf8)))
        }
        return result
    }
}
