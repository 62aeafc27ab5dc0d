import Build
import Foundation
import ImageStore
import Manifest
import OCI
import Sandbox
import Storage

#if canImport(Glibc)
import Glibc
#endif

/// Runs build and resolve steps in the sandbox as root inside, over the layers below, with an
/// upper directory under `tmp/`: kept as a new layer (`build`) or thrown away (`probe`).
struct StepExecutor {
    let store: StoreLocation
    let layout: LayerLayout
    let output: BuildProgress
    /// The image's `Env`: the base of every step's environment.
    let imageEnvironment: [String]
    /// Where steps' `files` are read from.
    var projectDirectory: String?

    var identity: IDMapping { IDMapping.forBuild(asRoot: layout.suffix == "-root") }
    var singleID: Bool { identity.mode == .single }

    /// Runs `command` over `lowers` and discards what it wrote; returns its status and output.
    func probe(command: [String], environment: [String], lowers: [String], onLine: (@Sendable (String) -> Void)?) throws -> StepRunner.Result {
        let scratch = "\(store.tmp)/probe.\(UUID().uuidString)"
        try makeScratch(scratch)
        defer { try? StoreCleaner.remove([scratch], mapping: layout.mapping) }
        return try run(command: command, environment: environment, lowers: lowers, scratch: scratch, capture: true, onLine: onLine)
    }

    /// Where `build --no-cache` moves the layer it replaces: `tmp/retired-<name>.<uuid>`.
    static let retiredPrefix = "retired-"

    /// Makes layer `step.key` over `lowers` unless it exists (or `replace`); returns the new
    /// layer's blob when it ran, nil when the layer was there.
    /// The layer appears in `layers/` only complete, its blob in the content store first; a
    /// failed or killed step leaves only scratch under `tmp/`.
    func build(_ step: BuildStep, lowers: [String], replace: Bool = false) async throws -> LayerBlob.Stored? {
        let layerStore = store.layerStore()
        if replace, layerStore.contains(step.key) {
            // A sandbox running on the old directory keeps it (a mounted overlay follows the
            // rename): it waits in tmp/ until gc finds no sandbox holding a layer of this name.
            let retired = "\(store.tmp)/\(Self.retiredPrefix)\(step.key).\(UUID().uuidString)"
            let inUse: Set<String>
            do {
                let (names, lock) = try LayerHold.inUse(layersDirectory: store.layers)
                inUse = names
                guard rename(layerStore.directory(for: step.key), retired) == 0 else {
                    throw DevenvError.internal("cannot replace layer \(step.key): \(String(cString: strerror(errno)))")
                }
                withExtendedLifetime(lock) {}
            } catch let error as SandboxError {
                throw DevenvError.internal(error.message)
            }
            if !inUse.contains(step.key) { try? StoreCleaner.remove([retired], mapping: layout.mapping) }
        }
        let content = try store.contentStore()
        var stored: LayerBlob.Stored?
        try await layerStore.ensure(step.key, onWait: {
            output.heading("  \(step.title): waiting for another devenv building the same layer")
        }, discard: { try StoreCleaner.remove([$0], mapping: layout.mapping) }) { scratch in
            do {
                try makeScratch(scratch)
                let files = try stage(step, scratch: scratch)
                let result = try run(command: step.command, environment: step.environment, lowers: lowers, scratch: scratch,
                                     capture: false, files: files, onLine: output.stepLine)
                guard result.status == 0 else { throw StepFailure(step: step, result: result, quiet: output.quiet) }
                stored = try LayerBlob.store(directory: scratch + "/upper", key: step.key, content: content, identity: identity, layout: layout)
                guard rename(scratch + "/upper", layerStore.directory(for: step.key)) == 0 else {
                    throw DevenvError.internal("cannot move the built layer into \(layerStore.directory(for: step.key)): \(String(cString: strerror(errno)))")
                }
            } catch {
                try? StoreCleaner.remove([scratch], mapping: layout.mapping)
                throw error
            }
            try? StoreCleaner.remove([scratch], mapping: layout.mapping)
            return .published
        }
        return stored
    }

    private func makeScratch(_ scratch: String) throws {
        for directory in [scratch, scratch + "/upper", scratch + "/work"] where mkdir(directory, 0o755) != 0 && errno != EEXIST {
            throw DevenvError.internal("cannot create \(directory): \(String(cString: strerror(errno)))")
        }
    }

    /// Copies the step's `files` into `scratch/files` (the step sees the copy, so a file edited
    /// meanwhile cannot differ from what the key says) and checks each against its key's digest;
    /// returns the copy's directory, or nil when the step names none.
    private func stage(_ step: BuildStep, scratch: String) throws -> String? {
        guard !step.files.isEmpty else { return nil }
        guard let projectDirectory else { throw DevenvError.internal("step \(step.title) reads files but no project was given") }
        let staged = scratch + "/files"
        for file in step.files {
            let data: Data
            do {
                data = try Manifest.readInput(file.path, project: projectDirectory) { problem, fix in
                    ManifestError(file: projectDirectory + "/" + file.path, position: SourcePosition(line: 1, column: 1), problem: problem, fix: fix)
                }
            } catch {
                throw DevenvError.user(error.description)
            }
            guard Digest(hashing: data).hex == file.digest else {
                throw DevenvError.user("\(projectDirectory)/\(file.path) changed while devenv was building (\(step.title) reads it)\n  fix: run the command again once the file is saved")
            }
            let target = staged + "/" + file.path
            let made = (try? FileManager.default.createDirectory(atPath: (target as NSString).deletingLastPathComponent,
                                                                 withIntermediateDirectories: true)) != nil
            guard made, FileManager.default.createFile(atPath: target, contents: data, attributes: [.posixPermissions: 0o444]) else {
                throw DevenvError.internal("cannot copy \(file.path) for \(step.title) into \(staged)")
            }
        }
        return staged
    }

    private func run(command: [String], environment: [String], lowers: [String], scratch: String, capture: Bool,
                     files: String? = nil, onLine: (@Sendable (String) -> Void)?) throws -> StepRunner.Result {
        let host = HostNetworkSettings.current()
        var session = BuildSession(layersDirectory: store.layers, layers: lowers, upperDirectory: scratch + "/upper",
                                   workDirectory: scratch + "/work", command: command,
                                   environment: Self.merge(imageEnvironment, environment + host.environment), identity: identity)
        session.readOnlyBinds = host.binds + (files.map { [SandboxSpec.Bind(source: $0, target: Manifest.inputsDirectory, readOnly: true)] } ?? [])
        session.hostResolvConf = try? String(contentsOfFile: "/etc/resolv.conf", encoding: .utf8)
        session.hostHosts = try? String(contentsOfFile: "/etc/hosts", encoding: .utf8)
        try HostPath.makeDirectory(store.layers + "/" + SandboxSpec.scratchName, mode: 0o755)
        do {
            return try StepRunner.run(session.spec(), captureOutput: capture, onLine: onLine)
        } catch let error as BuildError {
            throw DevenvError.internal(error.description)
        }
    }

    /// `base` with `overrides` applied by name; a PATH override's directories go first.
    static func merge(_ base: [String], _ overrides: [String]) -> [String] {
        var entries = base.filter { $0.contains("=") }
        func name(_ entry: String) -> Substring { entry.prefix { $0 != "=" } }
        // Indexed by name: a manifest may set tens of thousands of variables, and a scan per
        // variable made build and run quadratic in them.
        var positions: [Substring: Int] = [:]
        for (index, entry) in entries.enumerated() { positions[name(entry)] = positions[name(entry)] ?? index }
        for entry in overrides {
            if let index = positions[name(entry)] {
                entries[index] = entry
            } else {
                positions[name(entry)] = entries.count
                entries.append(entry)
            }
        }
        if positions["PATH"] == nil { entries.append("PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin") }
        if positions["HOME"] == nil { entries.append("HOME=/root") }
        return entries
    }
}
