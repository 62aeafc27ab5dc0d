import CLinux
import Glibc

/// OCI whiteouts in overlay2's on-disk form: `.wh.NAME` becomes a 0/0 character device NAME, which
/// overlayfs reads as "deleted" (any user may create one since Linux 5.8), and `.wh..wh..opq`
/// becomes `user.overlay.opaque=y` on its directory, the form overlayfs reads with `userxattr`.
extension Extraction {
    func applyWhiteout(_ header: EntryHeader) throws(LayerError) {
        let marker = path.last
        if strcmp(marker, ".wh..wh..opq") == 0 {
            guard let directory = try whiteoutParent() else { return }
            guard fsetxattr(directory, "user.overlay.opaque", "y", 1, 0) == 0 else {
                throw systemFailure("cannot mark the directory opaque (user.overlay.opaque)")
            }
            summary.opaqueDirectories += 1
            return
        }
        let hidden = marker + 4
        if hidden[0] == 0 {
            throw fail(.invalidWhiteout, "whiteout names no file")
        }
        if isDotOrDotDot(hidden) {
            throw fail(.invalidWhiteout, "whiteout of \(LayerError.quoted(String(cString: hidden))) would hide a directory from itself")
        }
        if strncmp(hidden, ".wh.", 4) == 0 {
            throw fail(.invalidWhiteout, "not a valid whiteout: the only \".wh..wh.\" name is \".wh..wh..opq\"")
        }
        guard let parent = try whiteoutParent() else { return }
        if mknodat(parent, hidden, FileType.character, 0) != 0 {
            guard errno == EEXIST else {
                throw systemFailure("cannot create whiteout device")
            }
            try makeRoom(in: parent, hidden, keepingDirectory: false)
            guard mknodat(parent, hidden, FileType.character, 0) == 0 else {
                throw systemFailure("cannot create whiteout device")
            }
        }
        try setOwner(in: parent, hidden, header)
        summary.whiteouts += 1
    }

    /// The directory a whiteout applies to, or nil when an earlier entry of this layer replaced one
    /// of its ancestors with a symlink or file. umoci writes exactly that for a directory turned
    /// into a symlink (`dir -> target`, then `dir/.wh.child`). In this layer's own directory the
    /// replacement already hides everything the lower layers had below it, so the whiteout has
    /// nothing left to hide; following the symlink instead would delete something else.
    private func whiteoutParent() throws(LayerError) -> Int32? {
        do {
            return try parentDirectory()
        } catch where error.code == .symlinkInPath || error.code == .notADirectory {
            summary.ignoredWhiteouts += 1
            return nil
        }
    }
}
