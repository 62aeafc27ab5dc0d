import CGit2
import Foundation

#if canImport(Glibc)
import Glibc
#endif

extension GitRepository {
    /// Clones `url` (https, ssh, a local path or `file://`) into `directory` and checks out its
    /// default branch. The clone is made in a sibling (`scratchDirectory(for:)`, `DIR.devenv-clone-PID`) and
    /// renamed into place only when complete, so a failed or stopped clone leaves no half-made
    /// directory. `directory` must not exist or be an empty directory, as with `git clone`;
    /// missing parent directories are created (and removed again on failure).
    ///
    /// `progress` is called as objects arrive and files are checked out; returning false stops
    /// the clone, which then fails with `.cancelled`.
    public static func clone(url: String, into directory: String, progress: (CloneProgress) -> Bool = { _ in true }) throws(GitError) {
        _ = initialized
        // libgit2 calls a path it cannot find an "unsupported URL protocol".
        if isLocalPath(url), !FileManager.default.fileExists(atPath: url) {
            throw GitError(.library, "cannot clone \(url): there is no repository at that path")
        }
        let destination = absolute(directory)
        try checkDestination(destination)
        let createdParents = try makeParents(of: destination)
        let scratch: String
        do { scratch = try makeScratchDirectory(beside: destination) } catch {
            removeDirectories(createdParents)
            throw error
        }
        let outcome = withoutActuallyEscaping(progress) { progress in
            Result { () throws(GitError) in
                try fetchAndCheckout(sourceURL(url), into: scratch, progress: progress)
                guard rename(scratch, destination) == 0 else {
                    throw GitError(.fileSystem, "cannot move the clone into \(destination): \(String(cString: strerror(errno)))")
                }
            }
        }
        if case .failure(let error) = outcome {
            try? FileManager.default.removeItem(atPath: scratch)
            removeDirectories(createdParents)
            throw error
        }
    }

    /// What the clone's callbacks share: the caller's progress closure, the running totals, and
    /// which credentials were offered already.
    private final class CloneContext {
        let report: (CloneProgress) -> Bool
        var stopped = false
        var progress = CloneProgress(phase: .receiving)
        var credentials: [Credential]?

        init(report: @escaping (CloneProgress) -> Bool) {
            self.report = report
        }

        func send(_ update: CloneProgress) -> Int32 {
            progress = update
            if !stopped, !report(update) { stopped = true }
            return stopped ? -1 : 0
        }
    }

    private enum Credential {
        case agent
        case keyFile(String)
    }

    private static func fetchAndCheckout(_ url: String, into path: String, progress: @escaping (CloneProgress) -> Bool) throws(GitError) {
        let context = CloneContext(report: progress)
        let payload = Unmanaged.passUnretained(context).toOpaque()
        var options = git_clone_options()
        git_clone_options_init(&options, UInt32(GIT_CLONE_OPTIONS_VERSION))
        options.fetch_opts.callbacks.payload = payload
        options.fetch_opts.callbacks.transfer_progress = { stats, payload in
            guard let stats = stats?.pointee, let payload else { return 0 }
            let context = Unmanaged<CloneContext>.fromOpaque(payload).takeUnretainedValue()
            var update = context.progress
            update.receivedObjects = Int(stats.received_objects)
            update.totalObjects = Int(stats.total_objects)
            update.receivedBytes = Int64(stats.received_bytes)
            update.indexedDeltas = Int(stats.indexed_deltas)
            update.totalDeltas = Int(stats.total_deltas)
            update.phase = stats.received_objects < stats.total_objects || stats.total_deltas == 0 ? .receiving : .resolving
            TimedSocketStream.heard()
            return context.send(update)
        }
        // The server's own progress ("Counting objects…") while it prepares the pack.
        options.fetch_opts.callbacks.sideband_progress = { _, _, _ in
            TimedSocketStream.heard()
            return 0
        }
        options.fetch_opts.callbacks.credentials = { out, _, username, allowed, payload in
            guard let out, let payload else { return GIT_PASSTHROUGH.rawValue }
            let context = Unmanaged<CloneContext>.fromOpaque(payload).takeUnretainedValue()
            TimedSocketStream.heard()
            return GitRepository.offerCredential(out, username: username.map { String(cString: $0) }, allowed: allowed, context: context)
        }
        options.checkout_opts.progress_payload = payload
        options.checkout_opts.progress_cb = { _, completed, total, payload in
            guard let payload else { return }
            let context = Unmanaged<CloneContext>.fromOpaque(payload).takeUnretainedValue()
            var update = context.progress
            update.phase = .checkingOut
            update.checkedOutFiles = completed
            update.totalFiles = total
            TimedSocketStream.heard()
            _ = context.send(update)
        }

        var repository: OpaquePointer?
        _ = TimedSocketStream.takeStall()
        let result = try TimedSocketStream.watching { () throws(GitError) in
            withExtendedLifetime(context) { git_clone(&repository, url, path, &options) }
        }
        if let repository { git_repository_free(repository) }
        if context.stopped { throw GitError(.cancelled, "the clone of \(url) was stopped") }
        if result != 0, let endpoint = TimedSocketStream.takeStall() {
            throw GitError(.library, """
                cannot clone \(url): the git server at \(endpoint) stopped answering (nothing for \(TimedSocketStream.timeoutSeconds) s)
                  fix: check the URL and that the server is up; try again later
                """)
        }
        guard result == 0 else { throw lastError("cannot clone \(url)") }
    }

    /// libgit2 asks again after each refused credential: offer the ssh agent, then the usual
    /// key files without a passphrase, then give up with a message that says what was tried.
    private static func offerCredential(_ out: UnsafeMutablePointer<UnsafeMutablePointer<git_credential>?>, username: String?, allowed: UInt32,
                                        context: CloneContext) -> Int32 {
        let user = username ?? ProcessInfo.processInfo.environment["USER"] ?? "git"
        if allowed & GIT_CREDENTIAL_USERNAME.rawValue != 0, allowed & GIT_CREDENTIAL_SSH_KEY.rawValue == 0 {
            return git_credential_username_new(out, user)
        }
        guard allowed & GIT_CREDENTIAL_SSH_KEY.rawValue != 0 else {
            git_error_set_str(Int32(GIT_ERROR_HTTP.rawValue), "the server asks for a user name and password, which devenv cannot prompt for; clone over ssh, or clone with git and run devenv build in the clone")
            return GIT_EAUTH.rawValue
        }
        if context.credentials == nil {
            let home = ProcessInfo.processInfo.environment["HOME"] ?? NSHomeDirectory()
            let keys = ["id_ed25519", "id_ecdsa", "id_rsa"].map { home + "/.ssh/" + $0 }
                .filter { FileManager.default.fileExists(atPath: $0) && FileManager.default.fileExists(atPath: $0 + ".pub") }
            let agent = ProcessInfo.processInfo.environment["SSH_AUTH_SOCK"].map { $0.isEmpty ? [] : [Credential.agent] } ?? []
            context.credentials = agent + keys.map(Credential.keyFile)
        }
        guard let next = context.credentials?.first else {
            git_error_set_str(Int32(GIT_ERROR_SSH.rawValue), "ssh authentication as \(user) failed: the ssh agent and ~/.ssh/id_ed25519, id_ecdsa, id_rsa (without passphrase) were tried; add your key to ssh-agent")
            return GIT_EAUTH.rawValue
        }
        context.credentials?.removeFirst()
        switch next {
        case .agent: return git_credential_ssh_key_from_agent(out, user)
        case .keyFile(let key): return git_credential_ssh_key_new(out, user, key + ".pub", key, nil)
        }
    }

    /// A local path is handed to libgit2 as an absolute one, so that the clone's `origin` still
    /// points at it after the clone is renamed into place.
    static func sourceURL(_ url: String) -> String {
        isLocalPath(url) && !url.hasPrefix("/") ? absolute(url) : url
    }

    /// Neither a URL nor scp-like "host:path" (a colon before any slash), as git reads it.
    static func isLocalPath(_ url: String) -> Bool {
        if url.contains("://") { return false }
        if let colon = url.firstIndex(of: ":"), !url[..<colon].contains("/") { return false }
        return true
    }

    static func absolute(_ path: String) -> String {
        let joined = path.hasPrefix("/") ? path : FileManager.default.currentDirectoryPath + "/" + path
        return URL(fileURLWithPath: joined).standardizedFileURL.path
    }

    private static func checkDestination(_ path: String) throws(GitError) {
        var info = stat()
        guard lstat(path, &info) == 0 else { return }
        let isEmptyDirectory = info.st_mode & S_IFMT == S_IFDIR && ((try? FileManager.default.contentsOfDirectory(atPath: path)) ?? ["?"]).isEmpty
        guard isEmptyDirectory else {
            throw GitError(.destinationExists, "destination path \(path) already exists and is not an empty directory")
        }
    }

    /// Creates the missing parents of `path` and returns them, deepest first.
    private static func makeParents(of path: String) throws(GitError) -> [String] {
        var missing: [String] = []
        var parent = (path as NSString).deletingLastPathComponent
        while !parent.isEmpty, parent != "/", !FileManager.default.fileExists(atPath: parent) {
            missing.append(parent)
            parent = (parent as NSString).deletingLastPathComponent
        }
        for directory in missing.reversed() where mkdir(directory, 0o777) != 0 && errno != EEXIST {
            let reason = String(cString: strerror(errno))
            removeDirectories(missing)
            throw GitError(.fileSystem, "cannot create \(directory): \(reason)")
        }
        return missing
    }

    /// Removes directories `makeParents` created, if they are still empty.
    private static func removeDirectories(_ directories: [String]) {
        for directory in directories { rmdir(directory) }
    }

    /// Where a clone into `destination` by this process is made before it is renamed into
    /// place: named by the process id, so that whoever stops the process can remove it.
    public static func scratchDirectory(for destination: String) -> String {
        "\(absolute(destination)).devenv-clone-\(getpid())"
    }

    private static func makeScratchDirectory(beside destination: String) throws(GitError) -> String {
        let scratch = scratchDirectory(for: destination)
        // One with this name was left by a process that had this id and is gone: garbage.
        if FileManager.default.fileExists(atPath: scratch) { try? FileManager.default.removeItem(atPath: scratch) }
        guard mkdir(scratch, 0o777) == 0 else {
            throw GitError(.fileSystem, "cannot create \(scratch): \(String(cString: strerror(errno)))")
        }
        return scratch
    }

    static func lastError(_ what: String) -> GitError {
        let detail = git_error_last().flatMap { $0.pointee.message.map { String(cString: $0) } } ?? "unknown libgit2 error"
        return GitError(.library, "\(what): \(detail)")
    }
}
