import Foundation
import OCI
import Testing
@testable import Manifest

/// Issue 12: seeded-random manifests and locks — random bytes, huge values, embedded newlines
/// and NULs, leading dashes, `/` and `..` in names — each either parse into values that all
/// satisfy the grammar, or fail with a `ManifestError` that has a place. Never a crash, never
/// another error type. The seed is fixed so a failure reproduces.
@Suite struct ManifestFuzzTests {
    /// xorshift64*: seedable, unlike SystemRandomNumberGenerator.
    struct XorShift: RandomNumberGenerator {
        var state: UInt64

        mutating func next() -> UInt64 {
            state ^= state >> 12
            state ^= state << 25
            state ^= state >> 27
            return state &* 2_685_821_657_736_338_717
        }
    }

    static let file = "/p/.devenv/devenv.toml"

    // MARK: Values

    /// Fragments attackers and accidents put in values.
    static let nasty = ["\n", "\0", "\r", "\t", "\u{1b}[2J", "\u{9b}", "-", "--", "--setup-hook=", "/", "..", "../", " ", "\"", "'", "\\",
                        "[trusted=yes]", "deb ", "=", ":", "@", "#", ";", "$(id)", "`id`", "%0a", "é", "\u{202e}", "[", "]", "~", "."]
    static let plain = ["debian", "bookworm", "jq", "six==1.16.0", "http://deb.debian.org/debian", "/bin/bash", "webapp", "ro", "rw",
                        "same", "host", "none", "default", "unconfined", "debian:bookworm", "1.6-2.1", "A", "PATH", "~/x", "/srv"]

    static func value(_ random: inout XorShift) -> String {
        switch Int.random(in: 0..<10, using: &random) {
        case 0:
            let bytes = (0..<Int.random(in: 0..<40, using: &random)).map { _ in UInt8.random(in: 0...255, using: &random) }
            return String(decoding: bytes, as: UTF8.self)
        case 1:
            return String(repeating: Self.plain.randomElement(using: &random)!, count: Int.random(in: 1...20_000, using: &random))
        case 2...5:
            return plain.randomElement(using: &random)!
        default:
            return (0..<Int.random(in: 1...4, using: &random)).map { _ in
                Bool.random(using: &random) ? nasty.randomElement(using: &random)! : plain.randomElement(using: &random)!
            }.joined()
        }
    }

    /// A TOML basic string holding `value` exactly (so the semantic checks see it).
    static func toml(_ value: String) -> String {
        var text = "\""
        for scalar in value.unicodeScalars {
            switch scalar {
            case "\"": text += "\\\""
            case "\\": text += "\\\\"
            default:
                if scalar.value < 0x20 || scalar.value == 0x7f {
                    text += String(format: "\\u%04x", scalar.value)
                } else {
                    text.unicodeScalars.append(scalar)
                }
            }
        }
        return text + "\""
    }

    /// A JSON string holding `value` exactly.
    static func json(_ value: String) -> String {
        var text = "\""
        for scalar in value.unicodeScalars {
            switch scalar {
            case "\"": text += "\\\""
            case "\\": text += "\\\\"
            default:
                if scalar.value < 0x20 {
                    text += String(format: "\\u%04x", scalar.value)
                } else {
                    text.unicodeScalars.append(scalar)
                }
            }
        }
        return text + "\""
    }

    /// Mostly one of `valid`, else anything `value` makes, as a TOML string.
    static func field(_ valid: [String], _ random: inout XorShift) -> String {
        toml(Int.random(in: 0..<3, using: &random) == 0 ? value(&random) : valid.randomElement(using: &random)!)
    }

    // MARK: Manifests

    static func manifest(_ random: inout XorShift) -> String {
        func maybe(_ text: @autoclosure () -> String) -> String { Int.random(in: 0..<3, using: &random) == 0 ? text() + "\n" : "" }
        func list(_ valid: [String]) -> String {
            "[" + (0..<Int.random(in: 0..<4, using: &random)).map { _ in field(valid, &random) }.joined(separator: ", ") + "]"
        }
        var text = maybe("name = \(field(["webapp", "a.b_c-1"], &random))")
        text += "[base]\n"
        switch Int.random(in: 0..<3, using: &random) {
        case 0: text += "image = \(field(["debian:bookworm", "127.0.0.1:5000/team/base@sha256:" + String(repeating: "a", count: 64)], &random))\n"
        case 1: text += "bootstrap = \(field(["debian:bookworm", "debian:trixie-backports"], &random))\n"
        default: text += "bootstrap = \"debian:bookworm\"\nmirror = \(field(["http://deb.debian.org/debian", "https://[::1]:8080/d"], &random))\n"
        }
        text += maybe("[packages]\napt = \(list(["jq", "jq=1.6-2.1", "g++"]))\npip = \(list(["six==1.16.0", "pkg @ https://x/p.whl"]))")
        if Bool.random(using: &random) {
            text += "[env]\n" + (0..<Int.random(in: 0..<5, using: &random)).map { index in
                "\(field(["A\(index)", "B_\(index)"], &random)) = \(field(["", "x y", "line\nline"], &random))"
            }.joined(separator: "\n") + "\n"
        }
        for index in 0..<Int.random(in: 0..<3, using: &random) {
            text += "[[setup]]\nname = \(field(["step\(index)"], &random))\nrun = \(field(["make install", "echo 'a\tb'\nexit 0"], &random))\n"
        }
        text += maybe("""
            [shell]
            command = \(field(["/bin/bash"], &random))
            workdir = \(field(["same", "/workspace"], &random))
            hostname = \(field(["webapp"], &random))
            """)
        text += maybe("[network]\nmode = \(field(["host", "none", "private"], &random))\nports = [\(field(["8000", "15432:5432", "0"], &random))]")
        if Bool.random(using: &random) {
            text += "[mounts]\n" + (0..<Int.random(in: 0..<3, using: &random)).map { index in
                "\(field(["~/.gitconfig\(index)", "/srv/data\(index)"], &random)) = \(field(["ro", "rw"], &random))"
            }.joined(separator: "\n") + "\n"
        }
        text += maybe("[security]\nseccomp = \(field(["default", "unconfined"], &random))")
        for name in ["db", "web", "cache"].prefix(Int.random(in: 0...3, using: &random)) {
            text += "[services.\(field([name], &random))]\ncommand = \(field(["postgres", "sleep 1\nexit 0"], &random))\n"
            text += maybe("user = \(field(["postgres", "999", "_apt"], &random))")
            text += maybe("ready = \(field(["pg_isready"], &random))")
            text += maybe("restart = \(field(["no", "on-failure", "always"], &random))")
            if name != "db" { text += maybe("depends_on = [\(field(["db"], &random))]") }
        }
        if Bool.random(using: &random) {
            text += "[volumes]\n" + (0..<Int.random(in: 0..<3, using: &random)).map { _ in
                "\(field(["/data", "/srv/cache", "/var/lib/postgresql/data"], &random)) = \(field(["pgdata", "cache"], &random))"
            }.joined(separator: "\n") + "\n"
        }
        // Sometimes the TOML itself is broken: random bytes spliced in, or deep nesting.
        switch Int.random(in: 0..<8, using: &random) {
        case 0:
            var scalars = Array(text.unicodeScalars)
            let junk = value(&random).unicodeScalars
            scalars.insert(contentsOf: junk, at: Int.random(in: 0...scalars.count, using: &random))
            return String(String.UnicodeScalarView(scalars))
        case 1:
            return text + "deep = " + String(repeating: "[", count: 5_000) + String(repeating: "]", count: 5_000) + "\n"
        default:
            return text
        }
    }

    /// What a parsed manifest holds must satisfy the grammar, field by field.
    static func checkGrammar(_ manifest: Manifest, sourceLocation: SourceLocation = #_sourceLocation) {
        if let name = manifest.name { #expect(FieldGrammar.nameProblem(name) == nil, sourceLocation: sourceLocation) }
        switch manifest.base {
        case .image(let image): #expect((try? Reference(parsing: image)) != nil, sourceLocation: sourceLocation)
        case .bootstrap(let suite, let mirror):
            #expect(FieldGrammar.bootstrapProblem(suite) == nil, sourceLocation: sourceLocation)
            #expect(FieldGrammar.mirrorProblem(mirror) == nil, sourceLocation: sourceLocation)
        }
        #expect(manifest.packages.apt.allSatisfy { AptSpec.problem($0) == nil && !$0.hasPrefix("-") }, sourceLocation: sourceLocation)
        #expect(manifest.packages.pip.allSatisfy { PipRequirement.problem($0) == nil && FieldGrammar.controlProblem($0, multiline: false) == nil },
                sourceLocation: sourceLocation)
        for variable in manifest.env {
            #expect(variable.name.first.map { $0 == "_" || ($0.isASCII && $0.isLetter) } == true, sourceLocation: sourceLocation)
            #expect(variable.name.allSatisfy { $0 == "_" || ($0.isASCII && ($0.isLetter || $0.isNumber)) }, sourceLocation: sourceLocation)
            #expect(!variable.value.unicodeScalars.contains("\0"), sourceLocation: sourceLocation)
        }
        for step in manifest.setup {
            #expect(FieldGrammar.nameProblem(step.name) == nil, sourceLocation: sourceLocation)
            #expect(!step.run.unicodeScalars.contains("\0"), sourceLocation: sourceLocation)
        }
        if let command = manifest.shell.command { #expect(FieldGrammar.absolutePathProblem(command) == nil, sourceLocation: sourceLocation) }
        if case .path(let path) = manifest.shell.workdir { #expect(FieldGrammar.absolutePathProblem(path) == nil, sourceLocation: sourceLocation) }
        if let hostname = manifest.shell.hostname {
            #expect((1...63).contains(hostname.utf8.count) && hostname.first != "-", sourceLocation: sourceLocation)
        }
        for mount in manifest.mounts { #expect(FieldGrammar.absolutePathProblem(mount.hostPath) == nil, sourceLocation: sourceLocation) }
        for (index, service) in manifest.services.enumerated() {
            #expect(FieldGrammar.serviceNameProblem(service.name) == nil, sourceLocation: sourceLocation)
            #expect(!service.command.unicodeScalars.contains("\0") && !service.command.allSatisfy(\.isWhitespace), sourceLocation: sourceLocation)
            if let user = service.user { #expect(FieldGrammar.userProblem(user) == nil, sourceLocation: sourceLocation) }
            // Start order: what a service depends on is a service started before it.
            #expect(service.dependsOn.allSatisfy { name in manifest.services[..<index].contains { $0.name == name } }, sourceLocation: sourceLocation)
        }
        for volume in manifest.volumes {
            #expect(FieldGrammar.volumeTargetProblem(volume.target) == nil && FieldGrammar.volumeNameProblem(volume.name) == nil,
                    sourceLocation: sourceLocation)
            if let user = volume.user { #expect(FieldGrammar.userProblem(user) == nil, sourceLocation: sourceLocation) }
        }
    }

    /// An error must say where and what, without a raw control character for the terminal.
    static func checkError(_ error: ManifestError, file: String, sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(error.file == file, sourceLocation: sourceLocation)
        #expect(error.position.line >= 1 && error.position.column >= 1, sourceLocation: sourceLocation)
        #expect(!error.problem.isEmpty && !error.fix.isEmpty, sourceLocation: sourceLocation)
        #expect(!error.problem.unicodeScalars.contains(where: FieldGrammar.isControl), "\(FieldGrammar.quote(error.problem))", sourceLocation: sourceLocation)
        #expect(error.problem.utf8.count < 2_000, sourceLocation: sourceLocation)
    }

    @Test func randomManifestsParseIntoTheGrammarOrFailWithAPlace() {
        var random = XorShift(state: 0x5eed_0012_dead_beef)
        var parsed = 0
        for _ in 0..<400 {
            let text = Self.manifest(&random)
            do {
                let manifest = try Manifest.parse(text, file: Self.file, home: "/home/ada")
                Self.checkGrammar(manifest)
                parsed += 1
            } catch {
                Self.checkError(error, file: Self.file)
            }
        }
        // Enough valid ones that the grammar checks above ran on something.
        #expect(parsed > 0)
    }

    // MARK: Locks

    static func lock(_ random: inout XorShift) -> Data {
        func string() -> String {
            Int.random(in: 0..<3, using: &random) == 0 ? json(plain.randomElement(using: &random)!) : json(value(&random))
        }
        func maybe(_ member: @autoclosure () -> String) -> String? { Bool.random(using: &random) ? member() : nil }
        let hash = String(repeating: "b", count: 64)
        let base = [maybe("\"image\": \(string())"), maybe("\"bootstrap\": \(Bool.random(using: &random) ? "\"debian:bookworm\"" : string())"),
                    maybe("\"mirror\": \(string())"), maybe("\"digest\": \(Bool.random(using: &random) ? "\"sha256:\(hash)\"" : string())"),
                    maybe("\"platform\": \(string())")].compactMap { $0 }
        let apt = maybe("""
            "apt": {"requested": [\(string())], "packages": [{"name": \(string()), "version": \(string()), "architecture": \(string())}]}
            """)
        let pip = maybe("""
            "pip": {"requested": [\(string())], "python": \(string()), "distributions": [{"name": \(string()), "version": \(string()), "sha256": ["\(hash)", \(string())]}]}
            """)
        let members = ["\"version\": 1", "\"base\": {\(base.joined(separator: ", "))}", apt, pip].compactMap { $0 }
        var text = "{" + members.joined(separator: ",\n") + "}"
        switch Int.random(in: 0..<8, using: &random) {
        case 0:
            let bytes = (0..<Int.random(in: 1..<20, using: &random)).map { _ in UInt8.random(in: 0...255, using: &random) }
            var data = Data(text.utf8)
            data.insert(contentsOf: bytes, at: Int.random(in: 0...data.count, using: &random))
            return data
        case 1:
            text = "{\"version\": 1, \"base\": " + String(repeating: "[", count: 100_000) + String(repeating: "]", count: 100_000) + "}"
        default:
            break
        }
        return Data(text.utf8)
    }

    static func checkGrammar(_ lock: Lock, sourceLocation: SourceLocation = #_sourceLocation) {
        if let image = lock.base.image { #expect((try? Reference(parsing: image)) != nil, sourceLocation: sourceLocation) }
        if let bootstrap = lock.base.bootstrap { #expect(FieldGrammar.bootstrapProblem(bootstrap) == nil, sourceLocation: sourceLocation) }
        if let mirror = lock.base.mirror { #expect(FieldGrammar.mirrorProblem(mirror) == nil, sourceLocation: sourceLocation) }
        if let digest = lock.base.digest { #expect((try? Digest(digest)) != nil, sourceLocation: sourceLocation) }
        if let platform = lock.base.platform { #expect(FieldGrammar.platformIsValid(platform), sourceLocation: sourceLocation) }
        for package in lock.apt?.packages ?? [] {
            #expect(AptSpec.problem("\(package.name)=\(package.version)") == nil, sourceLocation: sourceLocation)
        }
        for distribution in lock.pip?.distributions ?? [] {
            #expect(FieldGrammar.pipVersionIsValid(distribution.version), sourceLocation: sourceLocation)
            #expect(distribution.sha256.allSatisfy { (try? Digest("sha256:" + $0)) != nil }, sourceLocation: sourceLocation)
        }
    }

    @Test func randomLocksLoadIntoTheGrammarOrFailWithAPlace() {
        var random = XorShift(state: 0x10c4_0012_f00d_cafe)
        var loaded = 0
        for _ in 0..<400 {
            do {
                let lock = try Lock.decode(Self.lock(&random), file: "/p/.devenv/devenv.lock")
                Self.checkGrammar(lock)
                loaded += 1
            } catch {
                Self.checkError(error, file: "/p/.devenv/devenv.lock")
            }
        }
        #expect(loaded > 0)
    }
}
