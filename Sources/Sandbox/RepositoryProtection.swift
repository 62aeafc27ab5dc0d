import Foundation

/// What of the repository is bound over itself inside `run` and `enter`, so that what code in the
/// sandbox writes never becomes code the host runs later (the Trust section of the design).
///
/// Git on the host runs `.git/hooks` and the commands its configuration names, reads the files
/// `include.path` names, follows `.git/commondir` to another directory's configuration and hooks,
/// recurses into submodules through their `.git`, and devenv applies `.devenv/` at the next start.
/// So: every git directory (the repository's, an embedded submodule's) is bound read-write over
/// itself (a mount point cannot be renamed or removed), then read-only its `config` (every
/// command-running key), `hooks/` (made empty when missing, as `git init` makes it), `modules/`,
/// `worktrees/`, `config.worktree` when the configuration reads it (made empty when missing), and
/// `commondir`, made as `./` (the git directory itself, what git assumes without one) so that no
/// `commondir` of the sandbox's can send the host's git to another directory's config and hooks.
/// Read-only too: what the configurations name inside the repository (included files,
/// `core.hooksPath`, every path a command-running key names), submodules' `.git` files, and
/// `.devenv/`. Paths are taken with `lstat`: a symlink is protected itself and followed only
/// within the repository.
public struct RepositoryProtection: Sendable, Equatable {
    public var paths: [ProtectedPath]
    /// What decided `paths`: configurations by content, every other path by identity. A launch
    /// record checks them, so a start after one changed decides again.
    public var checks: [LaunchRecord.Check]

    /// Why the repository cannot be protected as it is; the message names the file and the fix.
    public struct Failure: Error, Equatable {
        public var message: String
    }

    /// Computes the protection of `repository` (absolute), making the empty hooks directories and
    /// placeholders that have to exist first.
    public static func of(_ repository: String) throws(Failure) -> RepositoryProtection {
        var walker = Walker(repository: repository)
        try walker.worktree("", top: true)
        return walker.result
    }

    private struct Walker {
        let repository: String
        var protected: [String: ProtectedPath] = [:]
        var read: [String] = []
        var watched: [String] = []
        /// The git directories bound read-write: a missing path below one cannot be protected by
        /// protecting its parent.
        var gitDirectories: Set<String> = []

        init(repository: String) {
            self.repository = repository.hasSuffix("/") && repository.count > 1 ? String(repository.dropLast()) : repository
        }

        var result: RepositoryProtection {
            let readOnly = protected.values.filter(\.readOnly).map(\.path)
            let paths = protected.values
                .filter { candidate in !readOnly.contains { candidate.path != $0 && candidate.path.hasPrefix($0 + "/") } }
                .sorted { ($0.path.split(separator: "/").count, $0.path) < ($1.path.split(separator: "/").count, $1.path) }
            var seen: Set<String> = []
            let checks = read.filter { seen.insert($0).inserted }.map { LaunchRecord.Check.content(absolute($0)) }
                + (watched + paths.map(\.path)).filter { seen.insert($0).inserted }.map { LaunchRecord.Check.identity(absolute($0)) }
            return RepositoryProtection(paths: paths, checks: checks)
        }

        func absolute(_ relative: String) -> String { relative.isEmpty ? repository : repository + "/" + relative }

        static func join(_ base: String, _ name: String) -> String { base.isEmpty ? name : base + "/" + name }

        func kind(_ relative: String) -> mode_t? {
            var info = stat()
            guard lstat(absolute(relative), &info) == 0 else { return nil }
            return info.st_mode & S_IFMT
        }

        /// A regular file, symlinks followed (git reads configurations so).
        func isFile(_ relative: String) -> Bool {
            var info = stat()
            return stat(absolute(relative), &info) == 0 && info.st_mode & S_IFMT == S_IFREG
        }

        mutating func protect(_ relative: String, readOnly: Bool) {
            let symlink = kind(relative) == S_IFLNK
            if let existing = protected[relative], existing.readOnly { return }
            protected[relative] = ProtectedPath(relative, readOnly: readOnly || symlink, symlink: symlink)
        }

        /// A repository's or a submodule checkout's top: its `.git`, its submodules, `.devenv/`.
        mutating func worktree(_ root: String, top: Bool) throws(Failure) {
            let dotGit = Self.join(root, ".git")
            watched.append(dotGit)
            switch kind(dotGit) {
            case S_IFDIR:
                try gitDirectory(dotGit, worktree: root)
            case S_IFREG, S_IFLNK:
                // A `gitdir:` pointer (linked worktree, submodule): rewritten, it would send the
                // host's git to a directory the sandbox made.
                protect(dotGit, readOnly: true)
            default:
                break
            }
            let gitmodules = Self.join(root, ".gitmodules")
            watched.append(gitmodules)
            if kind(gitmodules) == S_IFREG {
                for entry in try configuration(gitmodules) where entry.section == "submodule" && entry.name == "path" {
                    guard let value = entry.value, let submodule = inside(value, base: root), !submodule.isEmpty,
                          !submodule.split(separator: "/").contains(".git") else { continue }
                    guard kind(submodule) == S_IFDIR else { continue }
                    if kind(Self.join(submodule, ".git")) == nil {
                        // Not checked out: a `.git` made inside would be one the host's git
                        // recurses into. Read-only until it is checked out on the host.
                        watched.append(Self.join(submodule, ".git"))
                        protect(submodule, readOnly: true)
                    } else {
                        try worktree(submodule, top: false)
                    }
                }
            }
            if top {
                watched.append(".devenv")
                if kind(".devenv") == S_IFDIR { protect(".devenv", readOnly: true) }
            }
        }

        /// A git directory that belongs to the worktree at `worktree`.
        mutating func gitDirectory(_ gitdir: String, worktree: String) throws(Failure) {
            protect(gitdir, readOnly: false)
            gitDirectories.insert(gitdir)
            let config = Self.join(gitdir, "config")
            watched.append(config)
            var readsWorktreeConfig = false
            if kind(config) != nil {
                try protectNamed(config, mustExist: false, place: absolute(config))
                if isFile(config) { readsWorktreeConfig = try commands(of: config, worktree: worktree) }
            }
            let hooks = Self.join(gitdir, "hooks")
            if kind(hooks) == nil { makeDirectory(hooks) }
            protect(hooks, readOnly: true)
            // "./" is this git directory itself, what git and libgit2 assume without the file.
            try placeholder(Self.join(gitdir, "commondir"), content: "./\n",
                            because: "points the host's git at another directory's configuration and hooks")
            if readsWorktreeConfig {
                let worktreeConfig = Self.join(gitdir, "config.worktree")
                if kind(worktreeConfig) == S_IFREG {
                    protect(worktreeConfig, readOnly: true)
                    _ = try commands(of: worktreeConfig, worktree: worktree)
                } else {
                    try placeholder(worktreeConfig, content: "", because: "is read by the host's git as configuration (extensions.worktreeConfig)")
                }
            }
            for name in ["modules", "worktrees"] {
                let path = Self.join(gitdir, name)
                watched.append(path)
                if kind(path) == S_IFDIR { protect(path, readOnly: true) }
            }
            try modules(Self.join(gitdir, "modules"), depth: 0)
        }

        /// Submodules' git directories under `.git/modules` (read-only already): their
        /// checkouts' `.git` files, and what their configurations name in those checkouts.
        mutating func modules(_ directory: String, depth: Int) throws(Failure) {
            guard depth < 8, kind(directory) == S_IFDIR,
                  let names = try? FileManager.default.contentsOfDirectory(atPath: absolute(directory)) else { return }
            for name in names.sorted() {
                let candidate = Self.join(directory, name)
                guard kind(candidate) == S_IFDIR else { continue }
                let config = Self.join(candidate, "config")
                guard kind(config) == S_IFREG, kind(Self.join(candidate, "HEAD")) != nil else {
                    // A submodule name may contain slashes: look further down.
                    try modules(candidate, depth: depth + 1)
                    continue
                }
                let entries = try configuration(config)
                if let value = entries.last(where: { $0.key == "core.worktree" })?.value,
                   let checkout = inside(value, base: candidate), !checkout.isEmpty {
                    let pointer = Self.join(checkout, ".git")
                    watched.append(pointer)
                    if let pointerKind = kind(pointer), pointerKind != S_IFDIR { protect(pointer, readOnly: true) }
                    _ = try commands(of: config, worktree: checkout)
                }
                try modules(Self.join(candidate, "modules"), depth: depth + 1)
            }
        }

        /// Protects what the configuration file at `file` (and what it includes) names inside the
        /// repository. Returns whether it turns on extensions.worktreeConfig.
        mutating func commands(of file: String, worktree: String, depth: Int = 0) throws(Failure) -> Bool {
            var readsWorktreeConfig = false
            let directory = String(file[..<(file.lastIndex(of: "/") ?? file.startIndex)])
            for entry in try configuration(file) {
                guard let value = entry.value else {
                    if entry.key == "extensions.worktreeconfig" { readsWorktreeConfig = true }
                    continue
                }
                let place = "\(absolute(file)):\(entry.line): \(entry.key)"
                if entry.key == "extensions.worktreeconfig" {
                    readsWorktreeConfig = ["true", "yes", "on", "1"].contains(value.lowercased())
                } else if entry.name == "path" && (entry.key == "include.path" || entry.section == "includeif") {
                    guard let included = inside(value, base: directory) else { continue }
                    if included.isEmpty { throw Failure(message: "\(place) names the repository itself") }
                    try protectNamed(included, mustExist: true, includes: true, place: place)
                    if depth < 10, isFile(included) {
                        readsWorktreeConfig = try commands(of: included, worktree: worktree, depth: depth + 1) || readsWorktreeConfig
                    }
                } else if entry.key == "core.hookspath" {
                    guard let hooks = inside(value, base: worktree) else { continue }
                    if hooks.isEmpty || gitDirectories.contains(hooks) {
                        throw Failure(message: "\(place) = \(value): hooks in a directory the sandbox writes; name a directory of their own")
                    }
                    if kind(hooks) == nil { makeDirectory(hooks) }
                    try protectNamed(hooks, mustExist: true, place: place)
                } else if Self.runsCommand(entry, value) {
                    for (word, runs) in Self.words(value) {
                        guard let named = inside(word, base: worktree), !named.isEmpty else { continue }
                        try protectNamed(named, mustExist: runs, place: place)
                    }
                }
            }
            return readsWorktreeConfig
        }

        /// The keys whose value git runs (git-config(1)): a command, a program's path, a filter or
        /// driver, an alias or helper starting with `!`.
        static func runsCommand(_ entry: GitConfigFile.Entry, _ value: String) -> Bool {
            switch (entry.section, entry.name) {
            case ("alias", _), ("submodule", "update"), ("credential", "helper"): value.hasPrefix("!") || value.hasPrefix("/")
            case ("pager", _): true
            case ("core", "fsmonitor"): !["true", "false", "yes", "no", "on", "off", "1", "0", ""].contains(value.lowercased())
            case ("submodule", _), ("include", _), ("includeif", _): false
            case (_, let name): commandKeys.contains(name)
            }
        }

        static let commandKeys: Set<String> = [
            "sshcommand", "editor", "pager", "askpass", "gitproxy", "external", "command", "textconv", "clean", "smudge",
            "process", "driver", "cmd", "path", "program", "helper", "difffilter", "uploadpack", "receivepack",
            "packobjectshook", "alternaterefscommand", "tocmd", "cccmd", "sendmailcmd", "smtpserver",
        ]

        /// The words of a shell command that name paths, and whether each is what runs: the first
        /// word after `!` and `NAME=value` assignments runs; the rest are its arguments (a script an
        /// interpreter reads), and an assignment's value may name directories (PATH=./bin:$PATH).
        static func words(_ command: String) -> [(word: String, runs: Bool)] {
            let text = command.hasPrefix("!") ? String(command.dropFirst()) : command
            var words: [(word: String, runs: Bool)] = []
            var seenCommand = false
            for raw in text.split(whereSeparator: { " \t\n;|&()<>`".contains($0) }) {
                let word = raw.filter { $0 != "\"" && $0 != "'" }
                if !seenCommand, let equals = word.firstIndex(of: "="),
                   word[..<equals].allSatisfy({ $0 == "_" || $0.isLetter || $0.isNumber }) {
                    for part in word[word.index(after: equals)...].split(separator: ":") { words.append((String(part), false)) }
                    continue
                }
                words.append((word, !seenCommand))
                seenCommand = true
            }
            return words.filter { $0.word.contains("/") }
        }

        /// `value` as a path relative to the repository ("" for its root), when it lies inside:
        /// absolute, or relative to `base`. `~` and variables are never inside.
        func inside(_ value: String, base: String) -> String? {
            guard !value.isEmpty, !value.hasPrefix("~"), !value.contains("$") else { return nil }
            let full = value.hasPrefix("/") ? value : absolute(base) + "/" + value
            var components: [Substring] = []
            for component in full.split(separator: "/") {
                switch component {
                case ".": continue
                case "..": if components.popLast() == nil { return nil }
                default: components.append(component)
                }
            }
            let root = repository.split(separator: "/")
            guard components.starts(with: root) else { return nil }
            return components.dropFirst(root.count).joined(separator: "/")
        }

        /// Protects `relative` and every symlink on the way to it (followed within the repository).
        /// A missing path is protected through its nearest existing parent below the root and
        /// outside a git directory; with `mustExist`, where there is none, the start fails.
        mutating func protectNamed(_ relative: String, mustExist: Bool, includes: Bool = false, place: String, hops: Int = 0) throws(Failure) {
            let components = relative.split(separator: "/").map(String.init)
            var current = ""
            for (index, component) in components.enumerated() {
                let next = Self.join(current, component)
                switch kind(next) {
                case nil:
                    watched.append(next)
                    if gitDirectories.contains(current), includes, index == components.count - 1 {
                        // An empty configuration, where git would read none: invisible to `git status`.
                        try placeholder(next, content: "", because: "is included by \(place)")
                        return
                    }
                    guard !current.isEmpty, !gitDirectories.contains(current) else {
                        if !mustExist { return }
                        throw Failure(message: "\(place) names \(absolute(relative)), which does not exist: code in the sandbox"
                                      + " could create it for the host to run. Create it on the host (or remove the key), or start"
                                      + " with --unprotected")
                    }
                    protect(current, readOnly: true)
                    return
                case S_IFLNK:
                    protect(next, readOnly: true)
                    guard hops < 8, let target = try? FileManager.default.destinationOfSymbolicLink(atPath: absolute(next)),
                          let resolved = inside(target, base: current) else { return }
                    let rest = components[(index + 1)...].joined(separator: "/")
                    try protectNamed(rest.isEmpty ? resolved : Self.join(resolved, rest), mustExist: mustExist, includes: includes,
                                     place: place, hops: hops + 1)
                    return
                default:
                    current = next
                }
            }
            if !current.isEmpty { protect(current, readOnly: true) }
        }

        /// A read-only file at `relative` whose content (`content`) means to git what no file
        /// there means, so that nothing git would read there can be made from inside. A file with
        /// other content already there fails the start.
        mutating func placeholder(_ relative: String, content: String, because reason: String) throws(Failure) {
            watched.append(relative)
            let path = absolute(relative)
            if kind(relative) == nil {
                let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o644)
                if fd >= 0 {
                    _ = content.utf8CString.withUnsafeBufferPointer { write(fd, $0.baseAddress, $0.count - 1) }
                    close(fd)
                    ownLikeParent(relative)
                }
            }
            guard kind(relative) == S_IFREG, FileManager.default.contents(atPath: path) == Data(content.utf8) else {
                throw Failure(message: "\(path) \(reason), and git does not make it in this repository: if you did"
                              + " not make it, code in a sandbox may have planted it. Look at it, remove it, and start again")
            }
            protect(relative, readOnly: true)
        }

        func makeDirectory(_ relative: String) {
            var current = ""
            for component in relative.split(separator: "/") {
                current = Self.join(current, String(component))
                if kind(current) == nil, mkdir(absolute(current), 0o755) == 0 { ownLikeParent(current) }
                guard kind(current) == S_IFDIR else { return }
            }
        }

        /// Root makes placeholders and directories in a user's repository: they are the user's.
        func ownLikeParent(_ relative: String) {
            guard geteuid() == 0 else { return }
            let path = absolute(relative)
            var parent = stat()
            guard stat(String(path[..<(path.lastIndex(of: "/") ?? path.startIndex)]), &parent) == 0 else { return }
            _ = fchownat(AT_FDCWD, path, parent.st_uid, parent.st_gid, AT_SYMLINK_NOFOLLOW)
        }

        mutating func configuration(_ relative: String) throws(Failure) -> [GitConfigFile.Entry] {
            read.append(relative)
            let path = absolute(relative)
            guard let data = FileManager.default.contents(atPath: path) else {
                throw Failure(message: "cannot read \(path): \(String(cString: strerror(errno)))")
            }
            // Git reads bytes: a value in another encoding must not hide the keys around it.
            let text = String(decoding: data, as: UTF8.self)
            do {
                return try GitConfigFile(text).entries
            } catch {
                throw Failure(message: "\(path):\(error.line): \(error.reason); git cannot read it either: fix it with an editor")
            }
        }
    }
}
