import Glibc

/// A normalized archive path: its components, each NUL-terminated in one buffer that is reused for
/// every entry, so a component goes straight to an *at system call without a copy or allocation.
///
/// Normalizing is where the archive's path is judged: empty and "." components are dropped, while
/// an absolute path or any ".." is refused outright rather than "fixed" the way tar does, since no
/// honest layer contains one.
final class EntryPath {
    enum Problem: Error {
        case absolute
        case parentComponent
    }

    private var buffer: UnsafeMutablePointer<CChar>
    private var capacity: Int
    private var starts: [Int] = []

    init() {
        capacity = 1024
        buffer = .allocate(capacity: capacity)
        starts.reserveCapacity(64)
    }

    deinit {
        buffer.deallocate()
    }

    var count: Int { starts.count }

    /// An empty path is the layer's root directory, which tars spell "./" or ".".
    var isRoot: Bool { starts.isEmpty }

    subscript(index: Int) -> UnsafePointer<CChar> {
        UnsafePointer(buffer + starts[index])
    }

    var last: UnsafePointer<CChar> { self[starts.count - 1] }

    func parse(_ raw: UnsafePointer<CChar>) throws(Problem) {
        starts.removeAll(keepingCapacity: true)
        if raw[0] == slash {
            throw .absolute
        }
        let length = strlen(raw)
        if length + 1 > capacity {
            buffer.deallocate()
            capacity = length + 1
            buffer = .allocate(capacity: capacity)
        }
        var out = 0
        var start = 0
        while start < length {
            var end = start
            while end < length && raw[end] != slash { end += 1 }
            let size = end - start
            if size == 2 && raw[start] == dot && raw[start + 1] == dot {
                starts.removeAll(keepingCapacity: true)
                throw .parentComponent
            }
            if size > 1 || (size == 1 && raw[start] != dot) {
                starts.append(out)
                (buffer + out).update(from: raw + start, count: size)
                out += size
                buffer[out] = 0
                out += 1
            }
            start = end + 1
        }
    }

    /// Parses a path this code itself made with `key(prefix:)`.
    func parse(key: [UInt8]) {
        var terminated = key
        terminated.append(0)
        terminated.withUnsafeBufferPointer { bytes in
            bytes.withMemoryRebound(to: CChar.self) { chars in
                try? parse(chars.baseAddress!)
            }
        }
    }

    /// The first `prefix` components joined by "/", as raw bytes: names need not be UTF-8, and the
    /// result must find the same file again.
    func key(prefix: Int? = nil) -> [UInt8] {
        let n = prefix ?? starts.count
        var bytes: [UInt8] = []
        for index in 0..<n {
            if index > 0 { bytes.append(UInt8(ascii: "/")) }
            let component = self[index]
            bytes.append(contentsOf: UnsafeRawBufferPointer(start: component, count: strlen(component)))
        }
        return bytes
    }

    /// For messages only: invalid UTF-8 is shown with replacement characters.
    func display(prefix: Int? = nil) -> String {
        String(decoding: key(prefix: prefix), as: UTF8.self)
    }

    func hasPrefix(_ index: Int, _ prefix: StaticString) -> Bool {
        prefix.withUTF8Buffer { bytes in
            bytes.withMemoryRebound(to: CChar.self) { chars in
                strncmp(self[index], chars.baseAddress!, chars.count) == 0
            }
        }
    }

    func component(_ index: Int, equals other: UnsafePointer<CChar>) -> Bool {
        strcmp(self[index], other) == 0
    }

    func equals(_ other: EntryPath) -> Bool {
        guard count == other.count else { return false }
        for index in 0..<count where strcmp(self[index], other[index]) != 0 {
            return false
        }
        return true
    }
}

private let slash = CChar(UInt8(ascii: "/"))
private let dot = CChar(UInt8(ascii: "."))
