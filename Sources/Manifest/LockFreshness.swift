extension Lock {
    /// Per part, whether the lock is still valid for a manifest, so `devenv lock` re-resolves
    /// only what changed. Each part rests on the one before: apt on the base, pip on apt (the
    /// Python it resolved against comes from apt).
    public struct Freshness: Sendable, Equatable {
        public var base: Bool
        public var apt: Bool
        public var pip: Bool

        public var isFresh: Bool { base && apt && pip }

        public init(base: Bool, apt: Bool, pip: Bool) {
            self.base = base
            self.apt = apt
            self.pip = pip
        }
    }

    public func freshness(for manifest: Manifest) -> Freshness {
        let base = baseDifferences(manifest).isEmpty
        let apt = base && aptDifferences(manifest).isEmpty
        let pip = apt && pipDifferences(manifest).isEmpty
        return Freshness(base: base, apt: apt, pip: pip)
    }

    /// What differs between this lock and what `manifest` asks for, one user-facing line each;
    /// empty exactly when `freshness(for:)` is fresh.
    public func differences(from manifest: Manifest) -> [String] {
        baseDifferences(manifest) + aptDifferences(manifest) + pipDifferences(manifest)
    }

    private func baseDifferences(_ manifest: Manifest) -> [String] {
        let (kind, wanted, mirror): (String, String, String?) = switch manifest.base {
        case .image(let image): ("image", image, nil)
        case .bootstrap(let suite, let mirror): ("bootstrap", suite, mirror)
        }
        let locked = kind == "image" ? (base.image, base.bootstrap) : (base.bootstrap, base.image)
        guard locked.0 == wanted, locked.1 == nil else {
            let resolved = describeLockedBase(as: kind).map { "was resolved for \($0)" } ?? "names no base"
            return ["[base] \(kind) is \"\(wanted)\" but the lock \(resolved)"]
        }
        switch (mirror, base.mirror) {
        case let (wanted?, locked?) where wanted != locked:
            return ["[base] mirror is \"\(wanted)\" but the lock was resolved with \"\(locked)\""]
        case (let wanted?, nil):
            return ["[base] mirror is \"\(wanted)\" but the lock names no mirror"]
        case (nil, let locked?):
            return ["[base] has no mirror but the lock was resolved with \"\(locked)\""]
        default:
            break
        }
        if kind == "image", base.digest == nil { return ["the lock has no base digest"] }
        return []
    }

    /// The lock's base for a message about a manifest base of `kind`: just the quoted name when
    /// it is the same kind, nil when the lock has none.
    private func describeLockedBase(as kind: String) -> String? {
        switch (base.image, base.bootstrap) {
        case let (image?, bootstrap?): "image \"\(image)\" and bootstrap \"\(bootstrap)\""
        case let (image?, nil): kind == "image" ? "\"\(image)\"" : "image \"\(image)\""
        case let (nil, bootstrap?): kind == "bootstrap" ? "\"\(bootstrap)\"" : "bootstrap \"\(bootstrap)\""
        case (nil, nil): nil
        }
    }

    private func aptDifferences(_ manifest: Manifest) -> [String] {
        let implicit = { (request: String) in
            Lock.aptName(request) == Manifest.venvPackage && !manifest.packages.apt.contains(request) ? " (for [packages] pip)" : ""
        }
        return Self.listDifferences("apt", locked: apt?.requested, wanted: manifest.aptRequests, key: { String(Lock.aptName($0)) }, note: implicit)
    }

    private func pipDifferences(_ manifest: Manifest) -> [String] {
        Self.listDifferences("pip", locked: pip?.requested, wanted: manifest.packages.pip, key: Lock.pipName, note: { _ in "" })
    }

    /// Entries added, removed, or changed (one entry for a package replaced by another for the
    /// same package), in manifest order, then removals in lock order.
    private static func listDifferences(_ list: String, locked: [String]?, wanted: [String],
                                        key: (String) -> String, note: (String) -> String) -> [String] {
        guard let locked else { return wanted.map { "[packages] \(list) adds \"\($0)\"\(note($0))" } }
        var removed = locked, added: [String] = []
        for entry in wanted {
            if let index = removed.firstIndex(of: entry) { removed.remove(at: index) } else { added.append(entry) }
        }
        var lines: [String] = []
        var changed: Set<String> = []
        for entry in added {
            let name = key(entry)
            let old = removed.filter { key($0) == name }
            if old.count == 1, added.count(where: { key($0) == name }) == 1 {
                lines.append("[packages] \(list) changes \"\(old[0])\" to \"\(entry)\"")
                changed.insert(old[0])
            } else {
                lines.append("[packages] \(list) adds \"\(entry)\"\(note(entry))")
            }
        }
        lines += removed.filter { !changed.contains($0) }.map { "[packages] \(list) no longer lists \"\($0)\"" }
        if lines.isEmpty, locked != wanted {
            lines.append("[packages] \(list) lists the same entries in a different order than the lock")
        }
        if lines.isEmpty, wanted.isEmpty {
            lines.append("the lock has an \"\(list)\" section but [packages] lists no \(list) entries")
        }
        return lines
    }
}
