import Foundation

/// Writes tar archives byte by byte: ustar headers, with pax extended headers for what ustar cannot
/// say (long names, xattrs, sub-second times, sparse files). Tests need exact archives, including
/// ones no honest tool would produce, so nothing here is validated or normalized.
struct TarWriter {
    enum Kind {
        case file([UInt8])
        case directory
        case symlink(String)
        case hardlink(String)
        case fifo
        case characterDevice(major: Int, minor: Int)
        case blockDevice(major: Int, minor: Int)
        /// A PAX 1.0 sparse file of `size` bytes holding only `chunks`; the rest is holes.
        case sparse(size: Int, chunks: [(offset: Int, bytes: [UInt8])])
    }

    struct Entry {
        var path: String
        var kind: Kind
        var mode: Int
        var uid = 0
        var gid = 0
        var mtime = 1_600_000_000
        var mtimeNanoseconds: Int?
        var xattrs: [(name: String, value: [UInt8])] = []

        static func file(_ path: String, _ content: String = "", mode: Int = 0o644, uid: Int = 0, gid: Int = 0) -> Entry {
            Entry(path: path, kind: .file(Array(content.utf8)), mode: mode, uid: uid, gid: gid)
        }

        static func file(_ path: String, bytes: [UInt8], mode: Int = 0o644) -> Entry {
            Entry(path: path, kind: .file(bytes), mode: mode)
        }

        static func directory(_ path: String, mode: Int = 0o755, uid: Int = 0, gid: Int = 0) -> Entry {
            Entry(path: path, kind: .directory, mode: mode, uid: uid, gid: gid)
        }

        static func symlink(_ path: String, to target: String) -> Entry {
            Entry(path: path, kind: .symlink(target), mode: 0o777)
        }

        static func hardlink(_ path: String, to target: String) -> Entry {
            Entry(path: path, kind: .hardlink(target), mode: 0o644)
        }

        static func fifo(_ path: String, mode: Int = 0o644) -> Entry {
            Entry(path: path, kind: .fifo, mode: mode)
        }

        static func characterDevice(_ path: String, major: Int, minor: Int, mode: Int = 0o666) -> Entry {
            Entry(path: path, kind: .characterDevice(major: major, minor: minor), mode: mode)
        }

        static func whiteout(_ path: String) -> Entry {
            Entry(path: path, kind: .file([]), mode: 0o644)
        }

        func with(_ change: (inout Entry) -> Void) -> Entry {
            var copy = self
            change(&copy)
            return copy
        }
    }

    private(set) var bytes: [UInt8] = []

    init(_ entries: [Entry] = []) {
        for entry in entries {
            append(entry)
        }
    }

    mutating func append(_ entry: Entry) {
        var pax: [(String, [UInt8])] = []
        let path = Array(entry.path.utf8)
        var name = path
        if path.count > 100 || !path.allSatisfy({ $0 < 0x80 }) {
            pax.append(("path", path))
            name = Array(path.prefix(100))
        }
        var data: [UInt8] = []
        var typeflag: UInt8
        var linkname: [UInt8] = []
        var major = 0
        var minor = 0
        switch entry.kind {
        case .file(let content):
            typeflag = UInt8(ascii: "0")
            data = content
        case .directory:
            typeflag = UInt8(ascii: "5")
        case .symlink(let target):
            typeflag = UInt8(ascii: "2")
            linkname = Array(target.utf8)
        case .hardlink(let target):
            typeflag = UInt8(ascii: "1")
            linkname = Array(target.utf8)
        case .fifo:
            typeflag = UInt8(ascii: "6")
        case .characterDevice(let ma, let mi):
            typeflag = UInt8(ascii: "3")
            (major, minor) = (ma, mi)
        case .blockDevice(let ma, let mi):
            typeflag = UInt8(ascii: "4")
            (major, minor) = (ma, mi)
        case .sparse(let size, let chunks):
            typeflag = UInt8(ascii: "0")
            pax += [
                ("GNU.sparse.major", Array("1".utf8)),
                ("GNU.sparse.minor", Array("0".utf8)),
                ("GNU.sparse.name", path),
                ("GNU.sparse.realsize", Array(String(size).utf8)),
            ]
            if let slash = entry.path.lastIndex(of: "/") {
                name = Array("GNUSparseFile.0/\(entry.path[entry.path.index(after: slash)...])".utf8.prefix(100))
            } else {
                name = Array("GNUSparseFile.0/\(entry.path)".utf8.prefix(100))
            }
            // PAX 1.0: the data starts with a decimal map of (offset, size) pairs padded to a block.
            var map = "\(chunks.count + 1)\n"
            for chunk in chunks {
                map += "\(chunk.offset)\n\(chunk.bytes.count)\n"
            }
            map += "\(size)\n0\n"
            data = Array(map.utf8)
            data += [UInt8](repeating: 0, count: (512 - data.count % 512) % 512)
            for chunk in chunks {
                data += chunk.bytes
            }
        }
        if linkname.count > 100 || !linkname.allSatisfy({ $0 < 0x80 }) {
            pax.append(("linkpath", linkname))
            linkname = Array(linkname.prefix(100))
        }
        if let nanoseconds = entry.mtimeNanoseconds {
            pax.append(("mtime", Array(String(format: "%d.%09d", entry.mtime, nanoseconds).utf8)))
        }
        for xattr in entry.xattrs {
            pax.append(("SCHILY.xattr." + xattr.name, xattr.value))
        }
        if !pax.isEmpty {
            let records = TarWriter.paxRecords(pax)
            appendBlock(header(name: Array("PaxHeaders/entry".utf8), mode: 0o644, uid: 0, gid: 0, size: records.count, mtime: entry.mtime, typeflag: UInt8(ascii: "x"), linkname: [], major: 0, minor: 0))
            appendData(records)
        }
        appendBlock(header(name: name, mode: entry.mode, uid: entry.uid, gid: entry.gid, size: data.count, mtime: entry.mtime, typeflag: typeflag, linkname: linkname, major: major, minor: minor))
        appendData(data)
    }

    /// The archive with its end-of-archive marker.
    var archive: [UInt8] {
        bytes + [UInt8](repeating: 0, count: 1024)
    }

    private mutating func appendBlock(_ block: [UInt8]) {
        precondition(block.count == 512)
        bytes += block
    }

    private mutating func appendData(_ data: [UInt8]) {
        bytes += data
        bytes += [UInt8](repeating: 0, count: (512 - data.count % 512) % 512)
    }

    private func header(name: [UInt8], mode: Int, uid: Int, gid: Int, size: Int, mtime: Int, typeflag: UInt8, linkname: [UInt8], major: Int, minor: Int) -> [UInt8] {
        var block = [UInt8](repeating: 0, count: 512)
        func put(_ value: [UInt8], at offset: Int, width: Int) {
            for (index, byte) in value.prefix(width).enumerated() {
                block[offset + index] = byte
            }
        }
        func octal(_ value: Int, at offset: Int, width: Int) {
            let digits = String(value, radix: 8)
            put(Array((String(repeating: "0", count: max(0, width - 1 - digits.count)) + digits).utf8), at: offset, width: width - 1)
        }
        put(name, at: 0, width: 100)
        octal(mode, at: 100, width: 8)
        octal(uid, at: 108, width: 8)
        octal(gid, at: 116, width: 8)
        octal(size, at: 124, width: 12)
        octal(mtime, at: 136, width: 12)
        put([UInt8](repeating: UInt8(ascii: " "), count: 8), at: 148, width: 8)
        block[156] = typeflag
        put(linkname, at: 157, width: 100)
        put(Array("ustar\0".utf8), at: 257, width: 6)
        put(Array("00".utf8), at: 263, width: 2)
        put(Array("root".utf8), at: 265, width: 32)
        put(Array("root".utf8), at: 297, width: 32)
        octal(major, at: 329, width: 8)
        octal(minor, at: 337, width: 8)
        let checksum = block.reduce(0) { $0 + Int($1) }
        let digits = String(checksum, radix: 8)
        put(Array((String(repeating: "0", count: 6 - digits.count) + digits).utf8) + [0, UInt8(ascii: " ")], at: 148, width: 8)
        return block
    }

    /// "LEN key=value\n", where LEN counts the whole record including its own digits.
    private static func paxRecords(_ records: [(String, [UInt8])]) -> [UInt8] {
        var out: [UInt8] = []
        for (key, value) in records {
            let body = 1 + key.utf8.count + 1 + value.count + 1
            var length = body + String(body).count
            if String(length).count != String(body).count {
                length = body + String(length).count
            }
            out += Array("\(length) \(key)=".utf8) + value + [UInt8(ascii: "\n")]
        }
        return out
    }
}
