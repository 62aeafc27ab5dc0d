import CSandbox
import Foundation

/// Who the command is inside and how the sandbox's user namespace maps ids to the host
/// (docs/architecture.md, "Id mapping": root; rootless with newuidmap and /etc/subuid,
/// "keep-id"; rootless single-id fallback).
public struct IDMapping: Sendable, Equatable {
    public enum Mode: String, Sendable {
        /// devenv runs as root: maps written directly, onto unprivileged host ids (`shiftedRoot`).
        case root
        /// The user's own id keeps its number inside; the ids around it come from /etc/subuid
        /// and /etc/subgid through newuidmap and newgidmap, so image files of other owners
        /// (root first of all) keep theirs.
        case subordinate
        /// Only the user's own id is mapped: every other owner appears as nobody.
        case single
    }

    public var mode: Mode
    public var uids: [IDRange]
    public var gids: [IDRange]
    /// The command's ids, inside.
    public var uid: UInt32
    public var gid: UInt32

    /// The mapping for a user with host ids `uid`/`gid` and the given subordinate ranges. `asRoot`
    /// (for `--root`) makes the command root inside, the user's own id being that root.
    public static func forUser(uid: UInt32, gid: UInt32, asRoot: Bool, subuids: [SubordinateRange],
                               subgids: [SubordinateRange], helpersAvailable: Bool) -> IDMapping {
        if uid == 0 { return shiftedRoot(subuids: subuids, subgids: subgids) }
        let insideUID = asRoot ? 0 : uid, insideGID = asRoot ? 0 : gid
        if helpersAvailable, !subuids.isEmpty, !subgids.isEmpty {
            return IDMapping(mode: .subordinate,
                             uids: allocate(own: uid, ownInside: insideUID, pool: subuids),
                             gids: allocate(own: gid, ownInside: insideGID, pool: subgids),
                             uid: insideUID, gid: insideGID)
        }
        return IDMapping(mode: .single, uids: [IDRange(inside: insideUID, outside: uid, count: 1)],
                         gids: [IDRange(inside: insideGID, outside: gid, count: 1)], uid: insideUID, gid: insideGID)
    }

    /// Root inside over `count` host ids from `uid`/`gid`, written directly, as in `.root` mode,
    /// so only root can apply it: `shiftedRoot`, or devenv as root checking the host as itself.
    public static func rootOver(uid: UInt32, gid: UInt32, count: UInt32) -> IDMapping {
        IDMapping(mode: .root, uids: [IDRange(inside: 0, outside: uid, count: count)],
                  gids: [IDRange(inside: 0, outside: gid, count: count)], uid: 0, gid: 0)
    }

    /// How many ids a shifted root maps: Debian's system and regular users, and nobody (65534).
    public static let shiftedIDCount: UInt32 = 65536
    /// Far above the ranges useradd hands out (100000 up to 600100000 by default).
    public static let shiftedFallbackStart: UInt32 = 3_000_000_000

    /// Root's sandboxes (run, enter, build steps, mmdebstrap): root inside and ids 0 to 65535
    /// onto root's own first subordinate ranges of that size (`subuids` and `subgids` are
    /// root's), else onto 3000000000 up. None of them owns anything on the host: a cloned
    /// project's code never runs as host root.
    public static func shiftedRoot(subuids: [SubordinateRange], subgids: [SubordinateRange]) -> IDMapping {
        func start(_ ranges: [SubordinateRange]) -> UInt32? { ranges.first { $0.count >= shiftedIDCount && $0.start > 0 }?.start }
        guard let uid = start(subuids), let gid = start(subgids) else {
            return rootOver(uid: shiftedFallbackStart, gid: shiftedFallbackStart, count: shiftedIDCount)
        }
        return rootOver(uid: uid, gid: gid, count: shiftedIDCount)
    }

    /// Written directly as root, onto host ids other than the same numbers: the host's files
    /// reach such a sandbox only through idmapped mounts (`csandbox_config.idmap_uid_map`).
    public var shiftsHostIDs: Bool { mode == .root }

    /// The mapping a build step runs in: root inside, over the ranges of the run-time mapping
    /// `forUser(asRoot: layoutAsRoot)`. The new layer's files then get the host owners under which
    /// that sandbox shows them, as the unpacked image layers do. In keep-id that root is the first
    /// subordinate id, not the user; with a single id there is no other root than the user
    /// themself, as with `--root`. As root it is `shiftedRoot`, as every sandbox of root's.
    public static func forBuild(uid: UInt32, gid: UInt32, asRoot layoutAsRoot: Bool, subuids: [SubordinateRange],
                                subgids: [SubordinateRange], helpersAvailable: Bool) -> IDMapping {
        var mapping = forUser(uid: uid, gid: gid, asRoot: layoutAsRoot, subuids: subuids, subgids: subgids,
                              helpersAvailable: helpersAvailable)
        if mapping.mode == .single {
            mapping = forUser(uid: uid, gid: gid, asRoot: true, subuids: subuids, subgids: subgids, helpersAvailable: helpersAvailable)
        }
        mapping.uid = 0
        mapping.gid = 0
        return mapping
    }

    /// The user's own id at `ownInside`, and the subordinate ids filling inside ids 0, 1, 2… around
    /// it, in order: podman's "keep-id".
    static func allocate(own: UInt32, ownInside: UInt32, pool: [SubordinateRange]) -> [IDRange] {
        var result = [IDRange(inside: ownInside, outside: own, count: 1)]
        var next: UInt64 = 0
        let end = UInt64(UInt32.max)
        for range in pool {
            var outside = UInt64(range.start)
            var remaining = UInt64(range.count)
            while remaining > 0, next < end {
                if next == UInt64(ownInside) {
                    next += 1
                    continue
                }
                let room = next < UInt64(ownInside) ? UInt64(ownInside) - next : end - next
                let count = min(remaining, room)
                result.append(IDRange(inside: UInt32(next), outside: UInt32(outside), count: UInt32(count)))
                next += count
                outside += count
                remaining -= count
            }
        }
        return result.sorted { $0.inside < $1.inside }
    }

    /// Id 0 exists inside: the sandbox is set up as that root, so generated files are root's.
    var rootMapped: Bool { uids.contains { $0.inside == 0 } && gids.contains { $0.inside == 0 } }

    /// setgroups(2) stays allowed unless the kernel requires "deny" (an unprivileged single-id map).
    var setgroupsAllowed: Bool { mode != .single }

    /// The maps as the kernel takes them: one "inside outside count" line per range.
    var uidMap: String { Self.mapText(uids) }
    var gidMap: String { Self.mapText(gids) }

    private static func mapText(_ ranges: [IDRange]) -> String {
        ranges.map(\.description).joined(separator: "\n") + "\n"
    }

    /// How C applies the maps (a launch record stores it too).
    var cMode: csandbox_id_mode {
        switch mode {
        case .root: CSANDBOX_ID_ROOT
        case .single: CSANDBOX_ID_SINGLE
        case .subordinate: CSANDBOX_ID_SUBORDINATE
        }
    }

    /// Writes the maps of the child `pid`, which waits for them, or has newuidmap and newgidmap
    /// write them: `csandbox_apply_id_maps`, as the launcher's fast start does.
    func apply(to pid: Int32) throws(SandboxError) {
        let helpers = mode == .subordinate ? (Self.helper("newuidmap"), Self.helper("newgidmap")) : nil
        var error = [CChar](repeating: 0, count: 4096)
        let applied = csandbox_apply_id_maps(pid, Int32(cMode.rawValue), uidMap, gidMap, helpers?.0, helpers?.1, &error, error.count)
        guard applied == 0 else {
            throw SandboxError(.host, String(decoding: error.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self))
        }
    }

    static let helperDirectories = ["/usr/bin", "/bin", "/usr/sbin", "/sbin", "/usr/local/bin"]

    /// newuidmap or newgidmap from the usual places (not $PATH: they must be the setuid ones
    /// the system installed).
    public static func helper(_ name: String) -> String {
        helperDirectories.map { $0 + "/" + name }.first { access($0, X_OK) == 0 } ?? "/usr/bin/" + name
    }

    /// Whether newuidmap and newgidmap are installed.
    public static var helpersAvailable: Bool {
        ["newuidmap", "newgidmap"].allSatisfy { access(helper($0), X_OK) == 0 }
    }

    /// The mapping for the user running devenv, from /etc/subuid and /etc/subgid.
    public static func forInvoker(asRoot: Bool) -> IDMapping {
        let invoker = Invoker()
        return forUser(uid: invoker.uid, gid: invoker.gid, asRoot: asRoot, subuids: invoker.subuids, subgids: invoker.subgids,
                       helpersAvailable: helpersAvailable)
    }

    /// The build-step mapping (`forBuild`) for the user running devenv, whose layers are laid out
    /// for `forInvoker(asRoot: layoutAsRoot)`.
    public static func forBuild(asRoot layoutAsRoot: Bool) -> IDMapping {
        let invoker = Invoker()
        return forBuild(uid: invoker.uid, gid: invoker.gid, asRoot: layoutAsRoot, subuids: invoker.subuids,
                        subgids: invoker.subgids, helpersAvailable: helpersAvailable)
    }

    private struct Invoker {
        let uid = getuid(), gid = getgid()
        let subuids: [SubordinateRange], subgids: [SubordinateRange]

        init() {
            let uid = uid
            let name = getpwuid(uid).map { String(cString: $0.pointee.pw_name) } ?? String(uid)
            subuids = (try? String(contentsOfFile: "/etc/subuid", encoding: .utf8)).map { SubordinateRange.parse($0, name: name, id: uid) } ?? []
            subgids = (try? String(contentsOfFile: "/etc/subgid", encoding: .utf8)).map { SubordinateRange.parse($0, name: name, id: uid) } ?? []
        }
    }
}
