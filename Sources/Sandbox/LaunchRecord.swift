import CLaunch
import CSandbox
import Glibc

/// What a full start of `run`/`enter` leaves for the next one: the sandbox config as C reads it,
/// and every input it was computed from, so that the `devenv` launcher can start the same
/// sandbox without devenv-core while none of them changed (CLaunch/claunch.h).
public struct LaunchRecord: Sendable {
    /// How an input is compared at the next start.
    public enum Check: Sendable, Equatable {
        /// Same file, same contents (inode, size, mode, times), or still absent.
        case content(String)
        /// Same inode, or still absent: immutable things such as layer directories.
        case identity(String)
        /// A directory is there.
        case directory(String)
    }

    /// Where the launcher looks for it, and its description of the invocation (`claunch_key`).
    public var path: String
    public var key: String
    /// The devenv-core binary (itself checked as content: a new devenv recomputes).
    public var corePath: String
    public var projectDirectory: String
    /// Where the project is inside.
    public var mountPoint: String
    /// Lines printed on stderr before every start (a note the full start prints each time).
    public var notes: [String] = []
    public var checks: [Check] = []
    /// The caller's variables the config was computed from.
    public var variables: [String] = []
    /// Inputs changed at or after this instant may have changed after devenv read them.
    public var notAfter: timespec
    /// For a join record: the running environment's namespaces, as the holder keeps them
    /// (set by `Sandbox.joinAndWait`).
    var join: SandboxNamespaces?

    public init(path: String, key: String, corePath: String, projectDirectory: String, mountPoint: String, notAfter: timespec) {
        self.path = path
        self.key = key
        self.corePath = corePath
        self.projectDirectory = projectDirectory
        self.mountPoint = mountPoint
        self.notAfter = notAfter
    }

    /// The invocation the launcher asked a record for (its `DEVENV_LAUNCH_*` variables), as
    /// (record path, key fields: verb, store, project, image, flags); nil when it did not ask.
    public static func requested(environment: [String: String]) -> (path: String, key: String, fields: [String])? {
        guard let path = environment[CLAUNCH_RECORD_VARIABLE], let key = environment[CLAUNCH_KEY_VARIABLE],
              path.hasPrefix("/") else { return nil }
        let fields = key.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        guard fields.count == 6 else { return nil }
        return (path, key, Array(fields.dropFirst()))
    }

    /// The key the launcher asks a record of `run` or `enter` (`verb`) under, for these fields as
    /// devenv-core reads them (`claunch_key`): a record is written only when it equals the
    /// requested one. Nil when there is no such key (a field with a newline, or too long).
    public static func runKey(verb: String, store: String, project: String, image: String?, root: Bool, network: String?,
                              quiet: Bool) -> String? {
        let arena = CArena()
        var fields = claunch_key_fields()
        fields.verb = arena.string(verb)
        fields.store = arena.string(store)
        fields.project = arena.string(project)
        fields.image = image.map(arena.string)
        fields.network = network.map(arena.string)
        fields.root = root ? 1 : 0
        fields.quiet = quiet ? 1 : 0
        return key(fields, arena)
    }

    /// The key the launcher asks an answer record of `build` or `status` (`verb`) under, as
    /// `runKey`.
    public static func answerKey(verb: String, store: String, project: String, locked: Bool, json: Bool,
                                 quiet: Bool) -> String? {
        let arena = CArena()
        var fields = claunch_key_fields()
        fields.verb = arena.string(verb)
        fields.store = arena.string(store)
        fields.project = arena.string(project)
        fields.locked = locked ? 1 : 0
        fields.json = json ? 1 : 0
        fields.quiet = quiet ? 1 : 0
        return key(fields, arena)
    }

    private static func key(_ fields: claunch_key_fields, _ arena: CArena) -> String? {
        var key = [CChar](repeating: 0, count: Int(CLAUNCH_KEY_SIZE))
        let result = withExtendedLifetime(arena) { withUnsafePointer(to: fields) { claunch_key($0, &key, key.count) } }
        guard result == Int32(CLAUNCH_KEY_MADE.rawValue) else { return nil }
        return String(decoding: key.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// The instant to pass as `notAfter`, taken before any input is read: the coarse clock, which
    /// is what the kernel stamps files with (or behind what it stamps them with), so any change
    /// after this instant carries a stamp at or after it.
    public static func startingNow() -> timespec {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME_COARSE, &now)
        return now
    }

    /// Writes the record for `config`; false when skipped (an input changed too recently).
    func write(config: csandbox_config, spec: SandboxSpec, arena: CArena) throws(SandboxError) -> Bool {
        var config = config
        config.argv = UnsafePointer(arena.stringArray(spec.command))
        var input = inputs(arena)
        input.foreground = spec.foreground ? 1 : 0
        let identity = spec.identity
        input.id_mode = Int32(identity.cMode.rawValue)
        input.uid_map = arena.string(identity.uidMap)
        input.gid_map = arena.string(identity.gidMap)
        input.newuidmap = arena.string(IDMapping.helper("newuidmap"))
        input.newgidmap = arena.string(IDMapping.helper("newgidmap"))
        if let join, join.descriptors.count == Int(CSANDBOX_NAMESPACE_COUNT) {
            input.join = 1
            input.join_holder = join.holder.pid
            input.join_holder_start = join.holder.startTime
            withUnsafeMutableBytes(of: &input.join_fds) { raw in
                for (index, descriptor) in join.descriptors.enumerated() { raw.storeBytes(of: descriptor, toByteOffset: index * 4, as: Int32.self) }
            }
        }
        var error = [CChar](repeating: 0, count: 1024)
        let result = withUnsafePointer(to: config) { claunch_record_write(path, $0, &input, &error, error.count) }
        guard result >= 0 else {
            throw SandboxError(.host, "cannot write the launch record: " + String(decoding: error.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self))
        }
        return result == 0
    }

    /// Writes an answer record for `build` or `status` on an up-to-date project: what it printed
    /// and its exit status, valid while `checks` and `variables` hold. False when skipped.
    public func writeAnswer(standardOutput: String, standardError: String, status: Int32) throws(SandboxError) -> Bool {
        let arena = CArena()
        var input = inputs(arena)
        var error = [CChar](repeating: 0, count: 1024)
        let result = withExtendedLifetime(arena) {
            claunch_answer_write(path, &input, standardOutput, standardError, status, &error, error.count)
        }
        guard result >= 0 else {
            throw SandboxError(.host, "cannot write the answer record: " + String(decoding: error.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self))
        }
        return result == 0
    }

    /// What every record holds: the invocation, the checks, the variables.
    private func inputs(_ arena: CArena) -> claunch_record_input {
        var input = claunch_record_input()
        input.key = arena.string(key)
        input.core_path = arena.string(corePath)
        input.project_dir = arena.string(projectDirectory)
        input.mount_point = arena.string(mountPoint)
        input.notes = arena.string(notes.joined(separator: "\n"))
        let paths = checks.map { check -> (String, claunch_check_kind) in
            switch check {
            case .content(let path): (path, CLAUNCH_CONTENT)
            case .identity(let path): (path, CLAUNCH_IDENTITY)
            case .directory(let path): (path, CLAUNCH_DIRECTORY)
            }
        }
        input.check_paths = UnsafePointer(arena.pointerArray(paths.map(\.0)))
        input.check_kinds = UnsafePointer(arena.array(paths.map { Int32($0.1.rawValue) }))
        input.check_count = paths.count
        input.variables = UnsafePointer(arena.pointerArray(variables))
        input.variable_count = variables.count
        input.not_after = notAfter
        return input
    }
}
