import CSandbox
import Glibc

/// Runs a `SandboxSpec`: compiles the seccomp filter, clones the child through the C spawn,
/// writes its id maps, and waits for the command.
public enum Sandbox {
    /// Runs the command and returns its exit status (128+N when signal N killed it). Throws when
    /// the sandbox could not be built or the command not executed. With a `record`, first
    /// leaves the config for the launcher's next fast start; a sandbox that fails to start
    /// takes its record with it.
    public static func run(_ spec: SandboxSpec, record: LaunchRecord? = nil) throws(SandboxError) -> Int32 {
        if let problem = spec.problem { throw SandboxError(.setup, problem) }
        // slirp4netns becomes root of the sandbox's user namespace to make its tap device; a
        // single-id mapping has no root there unless the command is root itself.
        if spec.network == .private, !spec.identity.rootMapped {
            throw SandboxError(.unsupported, """
                a private network needs id 0 in the sandbox's user namespace, which a single-id mapping has only with --root
                  fix: add subordinate ids (usermod --add-subuids 100000-165535 --add-subgids 100000-165535 $USER as root), or use --network host or none
                """)
        }
        let filter = try spec.seccomp?.compile()
        // Only a process in the terminal's foreground may hand the terminal on, and take it back;
        // a command reading something else has no use for it.
        let ownsTerminal = spec.standardInput == nil && isatty(0) == 1 && tcgetpgrp(0) == getpgrp()

        var process = csandbox_process()
        var error = [CChar](repeating: 0, count: 1024)
        let arena = CArena()
        var config = makeConfig(spec, filter: filter, foreground: spec.foreground && ownsTerminal, arena: arena)
        // A record that cannot be written only means no fast start next time.
        let recorded = record.map { (try? $0.write(config: config, spec: spec, arena: arena)) ?? false } ?? false
        let forget = { if recorded, let record { unlink(record.path) } }
        let spawned = withExtendedLifetime(arena) { csandbox_spawn(&config, &process, &error, error.count) }
        guard spawned == 0 else {
            forget()
            throw SandboxError(.host, message(error))
        }

        do {
            try spec.identity.apply(to: process.pid)
        } catch {
            csandbox_abort(&process)
            forget()
            throw error
        }
        let network: OutboundNetwork?
        do {
            network = spec.network == .private ? try OutboundNetwork(attachingTo: process.pid, publishing: spec.ports) : nil
        } catch {
            csandbox_abort(&process)
            forget()
            throw error
        }
        defer { network?.detach() }
        var failedErrno: Int32 = 0
        let failure = csandbox_start(&process, &error, error.count, &failedErrno)
        if failure != 0 {
            let code: SandboxError.Code = failure == Int32(CSANDBOX_EXEC.rawValue) ? .exec : .setup
            // A command that is not there is the caller's mistake; the sandbox itself was fine.
            if code == .setup { forget() }
            throw SandboxError(code, message(error), errno: failedErrno)
        }
        return csandbox_wait(&process, ownsTerminal ? 1 : 0)
    }

    private static func message(_ buffer: [CChar]) -> String {
        String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    static func makeConfig(_ spec: SandboxSpec, filter: [UInt8]?, foreground: Bool, arena: CArena) -> csandbox_config {
        var config = csandbox_config()
        config.argv = UnsafePointer(arena.stringArray(spec.command))
        config.envp = UnsafePointer(arena.stringArray(spec.environment))
        config.cwd = arena.string(spec.workingDirectory)
        config.hostname = arena.string(spec.hostname)
        config.layers_dir = arena.string(spec.layersDirectory)
        config.lowers = UnsafePointer(arena.pointerArray(spec.layers.reversed()))
        config.lower_count = spec.layers.count
        config.scratch = arena.string(spec.scratch)
        config.writable_root = spec.writableRoot ? 1 : 0
        config.upper_dir = spec.upperDirectory.map(arena.string)
        config.work_dir = spec.workDirectory.map(arena.string)
        let binds = spec.orderedBinds.map {
            csandbox_bind(source: arena.string($0.source), target: arena.string($0.target), readonly: $0.readOnly ? 1 : 0,
                          symlink: $0.symlink ? 1 : 0)
        }
        config.binds = UnsafePointer(arena.array(binds))
        config.bind_count = binds.count
        let tmpfs = spec.tmpfs.map { csandbox_tmpfs(target: arena.string($0.target), options: arena.string($0.options)) }
        config.tmpfs = UnsafePointer(arena.array(tmpfs))
        config.tmpfs_count = tmpfs.count
        let files = spec.files.map {
            csandbox_file(path: arena.string($0.path), content: arena.bytes(Array($0.contents.utf8)).assumingMemoryBound(to: CChar.self),
                          length: $0.contents.utf8.count, mode: $0.mode)
        }
        config.files = UnsafePointer(arena.array(files))
        config.file_count = files.count
        config.masked = UnsafePointer(arena.pointerArray(spec.maskedPaths))
        config.masked_count = spec.maskedPaths.count
        config.readonly = UnsafePointer(arena.pointerArray(spec.readOnlyPaths))
        config.readonly_count = spec.readOnlyPaths.count
        config.uid = spec.identity.uid
        config.gid = spec.identity.gid
        config.root_mapped = spec.identity.rootMapped ? 1 : 0
        config.setgroups_allowed = spec.identity.setgroupsAllowed ? 1 : 0
        config.keep_capabilities = spec.keepsCapabilities ? 1 : 0
        if spec.identity.shiftsHostIDs {
            config.idmap_uid_map = arena.string(spec.identity.uids.map { $0.description + "\n" }.joined())
            config.idmap_gid_map = arena.string(spec.identity.gids.map { $0.description + "\n" }.joined())
        }
        if let filter {
            config.seccomp_filter = arena.bytes(filter)
            config.seccomp_length = filter.count
        }
        config.new_network = spec.network == .host ? 0 : 1
        config.foreground = foreground ? 1 : 0
        config.stdio = (spec.standardInput ?? -1, spec.standardOutput ?? -1, spec.standardError ?? -1)
        return config
    }
}
