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
    /// - Throws: `LayerError`, naming the offending entry. The directory is then left half-filled;
    ///   callers unpack into scratch space and discard it on failure.
    @discardableResult
    public func unpack(archivePath: String, into directory: String, lowerLayers: [String] = []) throws -> UnpackSummary {
        let extraction = try Extraction(options: self, archivePath: archivePath, directory: directory, lowerLayers: lowerLayers)
        return try extraction.run()
    }
}
