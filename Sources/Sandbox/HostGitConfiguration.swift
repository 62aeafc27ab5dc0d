import Foundation

/// The user's own git configuration, found by git's rules, to be visible read-only inside: so that
/// `git commit` knows who they are and their aliases and settings work, while nothing inside can
/// change what the host's git runs. `$GIT_CONFIG_GLOBAL` when set, else
/// `$XDG_CONFIG_HOME/git/config` (`~/.config/git/config`) and `~/.gitconfig`, and the files they
/// include (`include.path`, `includeIf.*.path`) that lie in the home directory, outside `~/.ssh`
/// and `~/.gnupg`.
public struct HostGitConfiguration: Sendable, Equatable {
    public struct File: Sendable, Equatable {
        /// The host's file.
        public var source: String
        /// Where it is inside, relative to the home directory there; nil: the same absolute path.
        public var inHome: String?
    }

    /// The host's home directory (`$HOME`, as git takes it).
    public var home: String
    public var files: [File]
    /// Every path looked at, present or not: a launch record checks them by content.
    public var looked: [String]

    /// The caller's variables that decide which files these are.
    public static let variables = ["HOME", "XDG_CONFIG_HOME", "GIT_CONFIG_GLOBAL"]

    public static func of(home: String, environment: [String: String]) -> HostGitConfiguration {
        var found = HostGitConfiguration(home: home, files: [], looked: [])
        let home = home.hasSuffix("/") && home.count > 1 ? String(home.dropLast()) : home
        if let global = environment["GIT_CONFIG_GLOBAL"], !global.isEmpty {
            found.add(global, inHome: ".gitconfig", home: home, depth: 0)
        } else {
            let xdg = environment["XDG_CONFIG_HOME"].flatMap { $0.hasPrefix("/") ? $0 : nil } ?? home + "/.config"
            found.add(xdg + "/git/config", inHome: ".config/git/config", home: home, depth: 0)
            found.add(home + "/.gitconfig", inHome: ".gitconfig", home: home, depth: 0)
        }
        return found
    }

    private mutating func add(_ path: String, inHome: String?, home: String, depth: Int) {
        guard !looked.contains(path) else { return }
        looked.append(path)
        var info = stat()
        guard stat(path, &info) == 0, info.st_mode & S_IFMT == S_IFREG, let data = FileManager.default.contents(atPath: path) else { return }
        files.append(File(source: path, inHome: inHome))
        // A file git cannot read fails the same way inside: it is shown, not followed.
        guard depth < 10, let entries = try? GitConfigFile(String(decoding: data, as: UTF8.self)).entries else { return }
        let directory = (path as NSString).deletingLastPathComponent
        for entry in entries where entry.name == "path" && (entry.key == "include.path" || entry.section == "includeif") {
            guard let value = entry.value, !value.isEmpty else { continue }
            let included = value.hasPrefix("~/") ? home + value.dropFirst(1)
                : value.hasPrefix("/") ? value : directory + "/" + value
            let normalized = (included as NSString).standardizingPath
            guard normalized.hasPrefix(home + "/"),
                  !normalized.hasPrefix(home + "/.ssh/"), !normalized.hasPrefix(home + "/.gnupg/") else { continue }
            add(normalized, inHome: String(normalized.dropFirst(home.count + 1)), home: home, depth: depth + 1)
        }
    }
}
