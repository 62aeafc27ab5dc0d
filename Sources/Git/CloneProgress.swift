/// How far a clone is, as libgit2 reports it: objects and bytes received, deltas resolved, then
/// files checked out. git's "Receiving objects", "Resolving deltas" and "Updating files" lines
/// are made from these.
public struct CloneProgress: Sendable, Equatable {
    public enum Phase: Sendable, Equatable {
        case receiving, resolving, checkingOut
    }

    public var phase: Phase
    public var receivedObjects: Int = 0
    public var totalObjects: Int = 0
    public var receivedBytes: Int64 = 0
    public var indexedDeltas: Int = 0
    public var totalDeltas: Int = 0
    public var checkedOutFiles: Int = 0
    public var totalFiles: Int = 0

    public init(phase: Phase) {
        self.phase = phase
    }
}
