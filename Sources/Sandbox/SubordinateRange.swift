/// A range of ids `/etc/subuid` or `/etc/subgid` delegates to a user: `user:start:count`.
public struct SubordinateRange: Sendable, Equatable {
    public var start: UInt32
    public var count: UInt32

    public init(start: UInt32, count: UInt32) {
        self.start = start
        self.count = count
    }

    /// The ranges `contents` (the text of /etc/subuid or /etc/subgid) gives the user named `name`
    /// with id `id`: lines may name the user either way, as shadow's newuidmap accepts.
    public static func parse(_ contents: String, name: String, id: UInt32) -> [SubordinateRange] {
        contents.split(whereSeparator: \.isNewline).compactMap { line in
            let fields = line.split(separator: ":", omittingEmptySubsequences: false)
            guard fields.count == 3, fields[0] == name || fields[0] == String(id),
                  let start = UInt32(fields[1]), let count = UInt32(fields[2]), count > 0 else { return nil }
            return SubordinateRange(start: start, count: count)
        }
    }
}
