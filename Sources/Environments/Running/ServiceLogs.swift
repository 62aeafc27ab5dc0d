/// The logs of a running environment's services read together as they grow, for `logs` and a
/// foreground `up`: each line after its service's name (padded to the longest) when `named`,
/// else as it is.
public struct ServiceLogs {
    private var followers: [LogFollower]
    private let width: Int?

    public init(_ running: RunningEnvironment, services: [String], named: Bool) {
        followers = services.map { LogFollower(path: running.logPath($0), prefix: $0) }
        width = named ? services.map(\.count).max() ?? 0 : nil
    }

    /// The lines written since the last call, service by service.
    public mutating func newLines() -> [String] {
        followers.indices.flatMap { index in
            let prefix = width.map { followers[index].prefix.padding(toLength: $0, withPad: " ", startingAt: 0) + " | " }
            return followers[index].newLines().map { (prefix ?? "") + $0 }
        }
    }
}
