import Glibc

/// Unpacks OCI layer tars into directories laid out the way overlay2 stores layers: one directory
/// per layer, whiteouts as 0/0 character devices and opaque directories marked with the
/// `user.overlay.opaque` xattr, so the directories can be stacked as overlayfs lowerdirs mounted
/// with `userxattr`.
///
/// Every name, link target and attribute in the archive is untrusted. All writes go through
/// descriptors opened below the target directory without following symlinks, so no archive, however
/// made, can create, change or remove anything outside it.
public struct LayerUnpacker: Sendable {
    /// Give entries the uid and gid the archive records; needs CAP_CHOWN.
    public var preserveOwnership: Bool
    /// Create character and block devices; needs CAP_MKNOD. When false, devices under the top-level
    /// `dev/` are skipped (the sandbox mounts its own /dev there) and devices elsewhere are an error.
    public var allowDevices: Bool

    public init(preserveOwnership: Bool = geteuid() == 0, allowDevices: Bool = geteuid() == 0) {
        self.preserveOwnership = preserveOwnership
        self.allowDevices = allowDevices
    }

    /// Unpacks the tar at `archivePath` (gzip, zstd or uncompressed, detected from the content) into
    /// `directory`, which must exist and be empty.
    ///
    /// - Parameter lowerLayers: the already unpacked layers below this one, topmost first. They are
    ///   only read, to give directories the archive implies but does not list (it has `usr/bin/x`
    ///   but no `usr/`) the attributes they have below.
    /// - Parameter expected: what the image says the blob and its uncompressed tar hash to. Both
    ///   are checked over the very bytes unpacked, once the whole stream was read; a directory
    ///   named by a chain id is trustworthy only when this was given.
    /// - Throws: `LayerError`, naming the offending entry, or `.digestMismatch`. The directory is
    ///   then left half-filled; callers unpack into scratch space and discard it on failure.
    @discardableResult
    public func unpack(archivePath: String, into directory: String, lowerLayers: [String] = [],
                       expected: LayerDigests? = nil) throws -> UnpackSummary {
        let extraction = try Extraction(options: self, archivePath: archivePath, directory: directory, lowerLayers: lowerLayers)
        return try extraction.run(expected: expected)
    }
}

/// A layer's two digests as an image names them, each `sha256:<64 lowercase hex>`.
public struct LayerDigests: Sendable, Equatable {
    /// The compressed blob's digest (the manifest's layer descriptor); nil to check the diff_id only.
    public var blob: String?
    /// The uncompressed tar's digest (the config's `rootfs.diff_ids` entry).
    public var diffID: String

    public init(blob: String?, diffID: String) {
        self.blob = blob
        self.diffID = diffID
    }

    func check(_ actual: (blob: String, diffID: String)) throws(LayerError) {
        if let blob, blob != actual.blob {
            throw LayerError(code: .digestMismatch, entry: nil, reason: """
                the blob is \(actual.blob), not \(blob) as its descriptor says (it changed in the store since it was downloaded)
                """)
        }
        guard diffID == actual.diffID else {
            throw LayerError(code: .digestMismatch, entry: nil, reason: """
                its content does not match the diff_id the image config claims for it: claimed \(diffID), actual \(actual.diffID)
                """)
        }
    }
}
