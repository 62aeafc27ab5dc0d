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
        // Only a process in the terminal's foreground may hand the terminal on, and take it back;
        // a command reading something else has no use for it.
        let ownsTerminal = spec.standardInput == nil && isatty(0) == 1 && tcgetpgrp(0) == getpgrp()
        var (process, network, _) = try launch(spec, record: record, hold: false, ownsTerminal: ownsTerminal)
        defer { network?.detach() }
        return csandbox_wait(&process, ownsTerminal ? 1 : 0)
    }

    /// Starts the sandbox with no command (`spec.command` is not run): `HeldSandbox`.
    public static func hold(_ spec: SandboxSpec) throws(SandboxError) -> HeldSandbox {
        let (process, network, namespaces) = try launch(spec, record: nil, hold: true, ownsTerminal: false)
        csandbox_stop_forwarding()
        return try HeldSandbox(control: process, namespaces: namespaces, network: network)
    }

    /// Runs `spec`'s command in the running sandbox `target` (`csandbox_join`): of the spec only
    /// the command, environment, working directory, ids, seccomp, foreground and stdio count.
    /// Returns the command's pid, a child of this process.
    public static func join(_ spec: SandboxSpec, target: SandboxNamespaces) throws(SandboxError) -> pid_t {
        try joining(spec, target: target, ownsTerminal: false, forwardSignals: false, record: nil).pid
    }

    /// `join`, then waits for the command: its exit status, 128+N when signal N killed it.
    /// With a `record`, first leaves the join for the launcher's next fast start.
    public static func joinAndWait(_ spec: SandboxSpec, target: SandboxNamespaces, record: LaunchRecord? = nil) throws(SandboxError) -> Int32 {
        let ownsTerminal = spec.standardInput == nil && isatty(0) == 1 && tcgetpgrp(0) == getpgrp()
        var process = try joining(spec, target: target, ownsTerminal: ownsTerminal, forwardSignals: true, record: record)
        return csandbox_wait(&process, ownsTerminal ? 1 : 0)
    }

    private static func joining(_ spec: SandboxSpec, target: SandboxNamespaces, ownsTerminal: Bool, forwardSignals: Bool,
                                record: LaunchRecord?) throws(SandboxError) -> csandbox_process {
        if spec.command.isEmpty { throw SandboxError(.setup, "no command to run") }
        guard let namespaces = target.open() else {
            throw SandboxError(.host, "the running environment (held by pid \(target.holder.pid)) has ended")
        }
        defer { namespaces.filter { $0 >= 0 }.forEach { close($0) } }
        let filter = try spec.seccomp?.compile()
        let arena = CArena()
        var config = makeConfig(spec, filter: filter, foreground: spec.foreground && ownsTerminal, arena: arena)
        if var record {
            // The holder's own numbers, -1 where this process shares the namespace already.
            record.join = SandboxNamespaces(holder: target.holder,
                                            descriptors: zip(target.descriptors, namespaces).map { $1 < 0 ? -1 : $0 })
            // A record that cannot be written only means no fast start next time.
            _ = try? record.write(config: config, spec: spec, arena: arena)
        }
        var process = csandbox_process()
        var error = [CChar](repeating: 0, count: 1024)
        var failedErrno: Int32 = 0
        let failure = withExtendedLifetime(arena) { csandbox_join(&config, namespaces, forwardSignals ? 1 : 0, &process, &error, error.count, &failedErrno) }
        if failure != 0 {
            let code: SandboxError.Code = failure == Int32(CSANDBOX_EXEC.rawValue) ? .exec : .setup
            throw SandboxError(code, message(error), errno: failedErrno)
        }
        return process
    }

    /// What this machine cannot give a sandbox on `network` with `identity`, as the error to show;
    /// nil when it can.
    public static func unsupported(network: SandboxSpec.Network, identity: IDMapping) -> SandboxError? {
        // slirp4netns becomes root of the sandbox's user namespace to make its tap device; a
        // single-id mapping has no root there unless the command is root itself.
        guard network == .private, !identity.rootMapped else { return nil }
        return SandboxError(.unsupported, """
            a private network needs id 0 in the sandbox's user namespace, which a single-id mapping has only with --root
              fix: add subordinate ids (usermod --add-subuids 100000-165535 --add-subgids 100000-165535 $USER as root), or use --network host or none
            """)
    }

    /// Spawns the sandbox, gives it its ids and network, and starts its command (or, holding,
    /// lets pid 1 wait): the started process and its network.
    private static func launch(_ spec: SandboxSpec, record: LaunchRecord?, hold: Bool,
                               ownsTerminal: Bool) throws(SandboxError) -> (csandbox_process, OutboundNetwork?, [Int32]) {
        if let problem = spec.problem { throw SandboxError(.setup, problem) }
        if let unsupported = unsupported(network: spec.network, identity: spec.identity) { throw unsupported }
        let filter = try spec.seccomp?.compile()
        var process = csandbox_process()
        var error = [CChar](repeating: 0, count: 1024)
        let arena = CArena()
        var config = makeConfig(spec, filter: filter, foreground: spec.foreground && ownsTerminal, arena: arena)
        config.hold = hold ? 1 : 0
        // A record that cannot be written only means no fast start next time.
        let recorded = record.map { (try? $0.write(config: config, spec: spec, arena: arena)) ?? false } ?? false
        let forget = { if recorded, let record { unlink(record.path) } }
        let spawned = withExtendedLifetime(arena) { csandbox_spawn(&config, &process, &error, error.count) }
        guard spawned == 0 else {
            forget()
            throw SandboxError(.host, message(error))
        }

        // Opened while the child is still dumpable (before its setup ends), for those who join it.
        let namespaces: [Int32]
        do {
            namespaces = hold ? try SandboxNamespaces.open(of: process.pid) : []
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
            namespaces.forEach { close($0) }
            csandbox_abort(&process)
            forget()
            throw error
        }
        var failedErrno: Int32 = 0
        let failure = csandbox_start(&process, &error, error.count, &failedErrno)
        if failure != 0 {
            namespaces.forEach { close($0) }
            network?.detach()
            let code: SandboxError.Code = failure == Int32(CSANDBOX_EXEC.rawValue) ? .exec : .setup
            // A command that is not there is the caller's mistake; the sandbox itself was fine.
            if code == .setup { forget() }
            throw SandboxError(code, message(error), errno: failedErrno)
        }
        return (process, network, namespaces)
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
        config.own_process_group = spec.ownProcessGroup ? 1 : 0
        config.stdio = (spec.standardInput ?? -1, spec.standardOutput ?? -1, spec.standardError ?? -1)
        return config
    }
}
