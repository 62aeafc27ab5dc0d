import Foundation

/// Reads a log file as it grows: whole lines only, from where the last read stopped.
public struct LogFollower {
    public let path: String
    public let prefix: String
    private var offset: UInt64 = 0
    private var partial = Data()
    /// The file read so far: a new run's log is a new file (the old one renamed to NAME.log.1).
    private var inode: UInt64?

    public init(path: String, prefix: String) {
        self.path = path
        self.prefix = prefix
    }

    /// The lines written since the last call.
    public mutating func newLines() -> [String] {
        guard let handle = FileHandle(forReadingAtPath: path) else { return [] }
        defer { try? handle.close() }
        // A new run rotated the log: start over.
        var info = stat()
        let current = fstat(handle.fileDescriptor, &info) == 0 ? UInt64(info.st_ino) : nil
        if current != inode || ((try? handle.seekToEnd()) ?? 0) < offset {
            offset = 0
            partial = Data()
            inode = current
        }
        guard (try? handle.seek(toOffset: offset)) != nil, let data = try? handle.readToEnd(), !data.isEmpty else { return [] }
        offset += UInt64(data.count)
        partial.append(data)
        guard let last = partial.lastIndex(of: UInt8(ascii: "\n")) else { return [] }
        let complete = partial[..<last]
        partial = Data(partial[partial.index(after: last)...])
        return String(decoding: complete, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
    }
}
