/// One line of `/proc/<pid>/uid_map`: `count` ids from `inside` on are `outside…` on the host.
public struct IDRange: Sendable, Equatable, CustomStringConvertible {
    public var inside: UInt32
    public var outside: UInt32
    public var count: UInt32

    public init(inside: UInt32, outside: UInt32, count: UInt32) {
        self.inside = inside
        self.outside = outside
        self.count = count
    }

    public var description: String { "\(inside) \(outside) \(count)" }
}
