import Foundation
import OCI
import TOMLKit

/// Turns devenv.toml's text into a `Manifest`, checking every key, type and value against schema
/// version 1 and naming the place of the first problem.
struct ManifestParser {
    let text: String
    let file: String
    let home: String

    static let rootKeys = ["name", "base", "packages", "env", "setup", "shell", "network", "mounts", "security", "share", "services", "volumes"]
    static let baseKeys = ["image", "bootstrap", "mirror"]
    static let packageKeys = ["apt", "pip"]
    static let setupKeys = ["name", "run", "files"]
    static let shellKeys = ["command", "workdir", "hostname"]
    static let networkKeys = ["mode", "ports"]
    static let securityKeys = ["seccomp"]
    static let shareKeys = ["image"]

    func parse() throws(ManifestError) -> Manifest {
        if let found = TOMLPrecheck.check(text) {
            throw ManifestError(file: file, position: found.position, problem: found.problem, fix: found.fix)
        }
        let root: TOMLTable
        do {
            root = try TOMLTable(string: text)
        } catch let error as TOMLParseError {
            throw ManifestError(file: file, position: SourcePosition(line: error.source.begin.line, column: error.source.begin.column),
                                problem: "invalid TOML: \(FieldGrammar.escaped(error.description))", fix: "correct the TOML syntax here (see https://toml.io)")
        } catch {
            throw ManifestError(file: file, position: SourcePosition(line: 1, column: 1), problem: "invalid TOML: \(FieldGrammar.escaped("\(error)"))", fix: "correct the TOML syntax")
        }
        let reader = TableReader(file: file, locator: SourceLocator(text))
        try reader.checkKeys(root, path: [], allowed: Self.rootKeys)

        guard let baseTable = try reader.table(root, "base", path: []) else {
            throw reader.error(at: SourcePosition(line: 1, column: 1), "no [base] table: the environment needs a base image",
                               fix: "add\n    [base]\n    image = \"debian:bookworm\"")
        }
        var manifest = Manifest(base: try base(baseTable, reader))
        if let name = try reader.string(root, "name", path: []) {
            if let problem = FieldGrammar.nameProblem(name) {
                throw reader.error(at: reader.locator.value(["name"]), "name \(FieldGrammar.quote(name)) \(problem.problem)", fix: problem.fix)
            }
            manifest.name = name
        }
        if let packages = try reader.table(root, "packages", path: []) {
            try reader.checkKeys(packages, path: ["packages"], allowed: Self.packageKeys)
            manifest.packages.apt = try reader.strings(packages, "apt", path: ["packages"], limit: FieldGrammar.packageEntries, check: AptSpec.problem)
            let pip = try reader.strings(packages, "pip", path: ["packages"], limit: FieldGrammar.packageEntries, check: PipRequirement.entryProblem)
            manifest.packages.pip = pip.filter { PipRequirement.requirementsFile($0) == nil }
            manifest.packages.requirementsFiles = pip.compactMap { entry in
                PipRequirement.requirementsFile(entry).map {
                    Manifest.FileReference(path: $0, position: reader.locator.element(entry, in: ["packages", "pip"]))
                }
            }
        }
        if let env = try reader.table(root, "env", path: []) {
            manifest.env = try variables(env, reader)
        }
        manifest.setup = try setup(root, reader)
        if let shell = try reader.table(root, "shell", path: []) {
            manifest.shell = try self.shell(shell, reader)
        }
        if let network = try reader.table(root, "network", path: []) {
            try reader.checkKeys(network, path: ["network"], allowed: Self.networkKeys)
            manifest.network = try reader.choice(network, "mode", path: ["network"], Manifest.NetworkMode.self) ?? .host
            manifest.ports = try ports(network, mode: manifest.network, reader)
            if !manifest.ports.isEmpty { manifest.portsPosition = reader.locator.value(["network", "ports"]) }
        }
        if let mounts = try reader.table(root, "mounts", path: []) {
            manifest.mounts = try self.mounts(mounts, reader)
        }
        if let security = try reader.table(root, "security", path: []) {
            try reader.checkKeys(security, path: ["security"], allowed: Self.securityKeys)
            manifest.seccomp = try reader.choice(security, "seccomp", path: ["security"], Manifest.Seccomp.self) ?? .default
            if security["seccomp"] != nil { manifest.seccompPosition = reader.locator.key(["security", "seccomp"]) }
        }
        if let share = try reader.table(root, "share", path: []) {
            try reader.checkKeys(share, path: ["share"], allowed: Self.shareKeys)
            manifest.shareImage = try shareImage(share, reader)
        }
        if let services = try reader.table(root, "services", path: []) {
            manifest.services = try self.services(services, reader)
        }
        if let volumes = try reader.table(root, "volumes", path: []) {
            manifest.volumes = try self.volumes(volumes, reader)
        }
        return manifest
    }

    /// `[network] ports`: "PORT" or "HOST:INSIDE", each 1–65535, a host port at most once, and
    /// only for a private network (with the host's, a port is the host's already).
    private func ports(_ table: TOMLTable, mode: Manifest.NetworkMode, _ reader: TableReader) throws(ManifestError) -> [Manifest.Port] {
        var seen: Set<UInt16> = []
        let entries = try reader.strings(table, "ports", path: ["network"], limit: 64) { entry in
            guard let port = Self.port(entry) else {
                return SpecProblem(problem: "is not a port (1–65535) or HOST:INSIDE pair of ports", fix: "write \"8000\" or \"15432:5432\"")
            }
            guard seen.insert(port.host).inserted else {
                return SpecProblem(problem: "publishes host port \(port.host) a second time", fix: "give each entry its own host port")
            }
            return nil
        }
        if !entries.isEmpty, mode != .private {
            throw reader.error(at: reader.locator.value(["network", "ports"]), "ports are published only from a private network, and [network] mode is \"\(mode.rawValue)\"",
                               fix: "write mode = \"private\" in [network], or remove ports (with the host's network a port is the host's already)")
        }
        return entries.compactMap(Self.port)
    }

    static func port(_ entry: String) -> Manifest.Port? {
        func number(_ text: Substring) -> UInt16? {
            guard !text.isEmpty, text.count <= 5, text.allSatisfy(\.isASCII), text.allSatisfy(\.isNumber), text.first != "0",
                  let value = UInt16(text), value > 0 else { return nil }
            return value
        }
        let parts = entry.split(separator: ":", omittingEmptySubsequences: false)
        switch parts.count {
        case 1: return number(parts[0]).map { Manifest.Port(host: $0, inside: $0) }
        case 2: return number(parts[0]).flatMap { host in number(parts[1]).map { Manifest.Port(host: host, inside: $0) } }
        default: return nil
        }
    }

    /// `[share] image`: where `push` publishes, a repository with an optional tag; a digest names
    /// one image, which a push cannot move.
    private func shareImage(_ table: TOMLTable, _ reader: TableReader) throws(ManifestError) -> String? {
        guard let image = try reader.string(table, "image", path: ["share"]) else { return nil }
        let ref: Reference
        do { ref = try Reference(parsing: image) } catch {
            throw reader.error(at: reader.locator.value(["share", "image"]), "image \(FieldGrammar.quote(image)) is not a valid image reference (\(FieldGrammar.escaped("\(error)")))",
                               fix: "use a repository such as \"registry.example.com/team/webapp\"")
        }
        if ref.digest != nil {
            throw reader.error(at: reader.locator.value(["share", "image"]), "image \(FieldGrammar.quote(image)) names a digest, which a push cannot publish to",
                               fix: "name the repository, optionally with a tag: \"\(ref.domain)/\(ref.repository)\"")
        }
        return image
    }

    private func base(_ table: TOMLTable, _ reader: TableReader) throws(ManifestError) -> Manifest.Base {
        try reader.checkKeys(table, path: ["base"], allowed: Self.baseKeys)
        let image = try reader.string(table, "image", path: ["base"])
        let bootstrap = try reader.string(table, "bootstrap", path: ["base"])
        let mirror = try reader.string(table, "mirror", path: ["base"])
        switch (image, bootstrap) {
        case (let image?, nil):
            if mirror != nil {
                throw reader.error(at: reader.locator.key(["base", "mirror"]), "mirror applies only to bootstrap, not to image",
                                   fix: "remove mirror, or replace image with bootstrap = \"debian:SUITE\"")
            }
            do {
                _ = try Reference(parsing: image)
            } catch {
                throw reader.error(at: reader.locator.value(["base", "image"]), "image \(FieldGrammar.quote(image)) is not a valid image reference (\(FieldGrammar.escaped("\(error)")))",
                                   fix: "use a reference such as \"debian:bookworm\" or \"registry.example.com/team/image@sha256:…\"")
            }
            return .image(image)
        case (nil, let bootstrap?):
            if let problem = FieldGrammar.bootstrapProblem(bootstrap) {
                throw reader.error(at: reader.locator.value(["base", "bootstrap"]), "bootstrap \(FieldGrammar.quote(bootstrap)) \(problem.problem)", fix: problem.fix)
            }
            let mirror = mirror ?? Manifest.defaultMirror
            if let problem = FieldGrammar.mirrorProblem(mirror) {
                throw reader.error(at: reader.locator.value(["base", "mirror"]), "mirror \(FieldGrammar.quote(mirror)) \(problem.problem)", fix: problem.fix)
            }
            return .bootstrap(bootstrap, mirror: mirror)
        case (.some, .some):
            throw reader.error(at: reader.locator.key(["base", "bootstrap"]), "[base] has both image and bootstrap; it takes exactly one",
                               fix: "keep image to pull a base image, or bootstrap to build one from a Debian mirror, and remove the other")
        case (nil, nil):
            throw reader.error(at: reader.locator.key(["base"]), "[base] has neither image nor bootstrap; it takes exactly one",
                               fix: "add image = \"debian:bookworm\" under [base]")
        }
    }

    private func variables(_ table: TOMLTable, _ reader: TableReader) throws(ManifestError) -> [Manifest.Variable] {
        guard table.count <= FieldGrammar.environmentVariables else {
            throw reader.error(at: reader.locator.key(["env"]), "[env] has \(table.count) variables; devenv takes at most \(FieldGrammar.environmentVariables)",
                               fix: "keep [env] to the variables the environment needs; put bulk configuration in a file in the repository")
        }
        var variables: [Manifest.Variable] = []
        var bytes = 0
        for key in reader.inFileOrder(table.keys, path: ["env"]) {
            guard key.first.map({ $0 == "_" || ($0.isASCII && $0.isLetter) }) == true, key.utf8.count <= 255,
                  key.allSatisfy({ $0 == "_" || ($0.isASCII && ($0.isLetter || $0.isNumber)) }) else {
                let suggestion = key.prefix(64).uppercased().map { $0.isASCII && ($0.isLetter || $0.isNumber) ? String($0) : "_" }.joined()
                throw reader.error(at: reader.locator.key(["env", key]), "\(FieldGrammar.quote(key)) is not a valid environment variable name (1–255 letters, digits and _, not starting with a digit)",
                                   fix: "rename it, e.g. \(suggestion.first?.isNumber == true ? "_" : "")\(suggestion)")
            }
            guard let value = try reader.string(table, key, path: ["env"]) else { continue }
            if let problem = FieldGrammar.controlProblem(value, multiline: true) {
                throw reader.error(at: reader.locator.value(["env", key]), "the value of \(key) \(problem)", fix: "remove it from the value")
            }
            guard key.utf8.count + value.utf8.count < FieldGrammar.argumentBytes else {
                throw reader.error(at: reader.locator.value(["env", key]), "\(key) is \(value.utf8.count) bytes; a variable takes at most \(FieldGrammar.argumentBytes) with its name",
                                   fix: "put the value in a file in the repository and point the variable at it")
            }
            bytes += key.utf8.count + value.utf8.count + 2
            guard bytes <= FieldGrammar.environmentBytes else {
                throw reader.error(at: reader.locator.key(["env", key]), "[env] holds more than \(FieldGrammar.environmentBytes) bytes by \(key); every process gets all of it, within the kernel's limit",
                                   fix: "put bulk configuration in a file in the repository")
            }
            variables.append(Manifest.Variable(name: key, value: value))
        }
        return variables
    }

    private func setup(_ root: TOMLTable, _ reader: TableReader) throws(ManifestError) -> [Manifest.SetupStep] {
        guard let value = root["setup"] else { return [] }
        guard let array = value.array, array.allSatisfy({ $0.type == .table }) else {
            throw reader.error(at: reader.locator.value(["setup"]), "setup must be an array of tables ([[setup]] sections), found \(value.type)",
                               fix: "write each step as\n    [[setup]]\n    name = \"tools\"\n    run = \"make install\"")
        }
        guard array.count <= FieldGrammar.setupSteps else {
            throw reader.error(at: reader.locator.key(["setup", "[\(FieldGrammar.setupSteps)]"]), "there are \(array.count) [[setup]] steps; devenv takes at most \(FieldGrammar.setupSteps) (each is a layer)",
                               fix: "join steps: one step can run several commands")
        }
        var steps: [Manifest.SetupStep] = []
        for (index, element) in array.enumerated() {
            guard let table = element.table else { continue }
            let path = ["setup", "[\(index)]"]
            try reader.checkKeys(table, path: path, allowed: Self.setupKeys)
            let name = try reader.string(table, "name", path: path)
            let run = try reader.string(table, "run", path: path)
            guard let name, !name.isEmpty else {
                throw reader.error(at: reader.locator.key(path), "setup step \(index + 1) has no name", fix: "add name = \"…\" to this [[setup]]")
            }
            if let problem = FieldGrammar.nameProblem(name) {
                throw reader.error(at: reader.locator.value(path + ["name"]), "setup step name \(FieldGrammar.quote(name)) \(problem.problem)",
                                   fix: problem.fix.replacingOccurrences(of: "webapp", with: "tools"))
            }
            guard let run, !run.trimmingCharacters(in: .whitespaces).isEmpty else {
                throw reader.error(at: reader.locator.key(path), "setup step \"\(name)\" has no run command", fix: "add run = \"shell command\" to this [[setup]]")
            }
            if let problem = FieldGrammar.controlProblem(run, multiline: true) {
                throw reader.error(at: reader.locator.value(path + ["run"]), "the run command of setup step \"\(name)\" \(problem)", fix: "remove it from the command")
            }
            guard run.utf8.count <= FieldGrammar.argumentBytes else {
                throw reader.error(at: reader.locator.value(path + ["run"]), "the run command of setup step \"\(name)\" is \(run.utf8.count) bytes; the kernel passes at most \(FieldGrammar.argumentBytes)",
                                   fix: "put the commands in a script in the repository and run that")
            }
            let files = try reader.strings(table, "files", path: path, limit: FieldGrammar.stepFiles) {
                FieldGrammar.relativePathProblem($0).map { SpecProblem(problem: $0, fix: "name a file by its path from the repository's top, e.g. \"package-lock.json\" or \"web/package.json\"") }
            }
            if let twice = files.enumerated().first(where: { files[..<$0.offset].contains($0.element) })?.element {
                throw reader.error(at: reader.locator.element(twice, in: path + ["files"]), "files of setup step \"\(name)\" lists \(FieldGrammar.quote(twice)) twice",
                                   fix: "remove one of them")
            }
            steps.append(Manifest.SetupStep(name: name, run: run, files: files.map {
                Manifest.FileReference(path: $0, position: reader.locator.element($0, in: path + ["files"]))
            }))
        }
        return steps
    }

    private func shell(_ table: TOMLTable, _ reader: TableReader) throws(ManifestError) -> Manifest.Shell {
        try reader.checkKeys(table, path: ["shell"], allowed: Self.shellKeys)
        var shell = Manifest.Shell()
        if let command = try reader.string(table, "command", path: ["shell"]) {
            if let problem = FieldGrammar.absolutePathProblem(command) {
                throw reader.error(at: reader.locator.value(["shell", "command"]), "shell command \(FieldGrammar.quote(command)) \(problem)",
                                   fix: "write the shell's path inside the image, e.g. command = \"/bin/bash\"")
            }
            shell.command = command
        }
        if let workdir = try reader.string(table, "workdir", path: ["shell"]) {
            if workdir == "same" {
                shell.workdir = .same
            } else if workdir != "/", FieldGrammar.absolutePathProblem(workdir) == nil {
                shell.workdir = .path(workdir.count > 1 && workdir.hasSuffix("/") ? String(workdir.dropLast()) : workdir)
            } else {
                throw reader.error(at: reader.locator.value(["shell", "workdir"]), "workdir \(FieldGrammar.quote(workdir)) must be \"same\" or an absolute path other than / (without . or .., line breaks or control characters)",
                                   fix: "write workdir = \"same\" (the repository at its host path) or e.g. workdir = \"/workspace\"")
            }
        }
        if let hostname = try reader.string(table, "hostname", path: ["shell"]) {
            let valid = (1...63).contains(hostname.count) && hostname.first != "-" && hostname.last != "-"
                && hostname.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-") }
            guard valid else {
                throw reader.error(at: reader.locator.value(["shell", "hostname"]), "hostname \(FieldGrammar.quote(hostname)) is not a valid host name (1–63 letters, digits and inner -)",
                                   fix: "write e.g. hostname = \"webapp\"")
            }
            shell.hostname = hostname
        }
        return shell
    }

    private func mounts(_ table: TOMLTable, _ reader: TableReader) throws(ManifestError) -> [Manifest.Mount] {
        guard table.count <= FieldGrammar.mounts else {
            throw reader.error(at: reader.locator.key(["mounts"]), "[mounts] has \(table.count) entries; devenv takes at most \(FieldGrammar.mounts)",
                               fix: "mount a common parent directory instead of its entries one by one")
        }
        var mounts: [Manifest.Mount] = []
        for key in reader.inFileOrder(table.keys, path: ["mounts"]) {
            let position = reader.locator.key(["mounts", key])
            let expanded: String
            if key == "~" {
                expanded = home
            } else if key.hasPrefix("~/") {
                expanded = home + key.dropFirst()
            } else if key.hasPrefix("/") {
                expanded = key
            } else {
                throw reader.error(at: position, "mount \(FieldGrammar.quote(key)) is not an absolute path or ~/…",
                                   fix: "write the host path in full, e.g. \"~/.gitconfig\" = \"ro\" or \"/srv/data\" = \"rw\"")
            }
            guard !expanded.split(separator: "/").contains(where: { $0 == ".." }), expanded != "/" else {
                throw reader.error(at: position, "mount \(FieldGrammar.quote(key)) must name a path below / without ..", fix: "name the file or directory to share itself")
            }
            if let problem = FieldGrammar.absolutePathProblem(expanded) {
                throw reader.error(at: position, "mount \(FieldGrammar.quote(key)) \(problem)", fix: "name the file or directory to share by its plain path")
            }
            guard let mode = try reader.string(table, key, path: ["mounts"]), mode == "ro" || mode == "rw" else {
                let found = table[key]?.string.map { FieldGrammar.quote($0) } ?? "something else"
                throw reader.error(at: reader.locator.value(["mounts", key]), "mount mode must be \"ro\" or \"rw\", found \(found)",
                                   fix: "write \(FieldGrammar.quote(key)) = \"ro\" (read-only) or \"rw\" (read-write)")
            }
            mounts.append(Manifest.Mount(written: key, hostPath: expanded, readOnly: mode == "ro", position: position))
        }
        return mounts
    }
}
