/// The sandbox's /etc/passwd and /etc/group: the image's entries, with the user's own replacing
/// any that have the same name or id (as toolbx does), so `id`, `ls -l` and shells know them.
enum UserDatabase {
    static func passwd(image: String?, name: String, uid: UInt32, gid: UInt32, home: String, shell: String) -> String {
        merge(image, name: name, id: uid, idField: 2, entry: "\(name):x:\(uid):\(gid):\(name):\(home):\(shell)")
    }

    static func group(image: String?, name: String, gid: UInt32) -> String {
        merge(image, name: name, id: gid, idField: 2, entry: "\(name):x:\(gid):")
    }

    private static func merge(_ image: String?, name: String, id: UInt32, idField: Int, entry: String) -> String {
        let kept = (image ?? "").split(whereSeparator: \.isNewline).filter { line in
            let fields = line.split(separator: ":", omittingEmptySubsequences: false)
            return fields.count > idField && fields[0] != name && fields[idField] != String(id)
        }
        return (kept.map(String.init) + [entry]).joined(separator: "\n") + "\n"
    }
}
