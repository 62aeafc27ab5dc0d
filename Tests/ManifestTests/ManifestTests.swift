import Testing
@testable import Manifest

@Suite struct ManifestTests {
    static let file = "/p/.devenv/devenv.toml"

    func parse(_ text: String) throws -> Manifest {
        try Manifest.parse(text, file: Self.file, home: "/home/ada")
    }

    /// The error `text` fails with; a manifest that parses fails the test.
    func failure(_ text: String, sourceLocation: SourceLocation = #_sourceLocation) throws -> ManifestError {
        do {
            let manifest = try parse(text)
            Issue.record("parsed, expected an error: \(manifest)", sourceLocation: sourceLocation)
            throw CancellationError()
        } catch let error as ManifestError {
            return error
        }
    }

    @Test func aFullManifestParses() throws {
        let manifest = try parse("""
            name = "webapp"  # comment

            [base]
            image = "debian:bookworm"

            [packages]
            apt = ["postgresql-15", "jq=1.6-2.1", "libc6=2.36-9+deb12u4", "tzdata=1:2024a-0+deb12u1"]
            pip = [
              "django==4.2.16",
              "requests[socks, security]>=2.31,<3",
              "tomli; python_version < '3.11'",
              "pkg @ https://example.com/pkg.whl",
              "six",
            ]

            [env]
            ZED = "last"
            DATABASE_URL = "postgresql://localhost:5432/app"
            ALPHA = "a"

            [[setup]]
            name = "tools"
            run = "make -C /opt/tools install"

            [[setup]]
            name = "more"
            run = \"\"\"
            echo one
            name = "not a key"
            \"\"\"

            [shell]
            command = "/bin/bash"
            workdir = "/workspace"
            hostname = "webapp"

            [network]
            mode = "none"

            [mounts]
            "~/.gitconfig" = "ro"
            "/srv/data" = "rw"
            "~" = "ro"

            [security]
            seccomp = "unconfined"
            """)
        #expect(manifest.name == "webapp")
        #expect(manifest.base == .image("debian:bookworm"))
        #expect(manifest.packages.apt == ["postgresql-15", "jq=1.6-2.1", "libc6=2.36-9+deb12u4", "tzdata=1:2024a-0+deb12u1"])
        #expect(manifest.packages.pip.count == 5)
        #expect(manifest.env.map(\.name) == ["ZED", "DATABASE_URL", "ALPHA"], "in file order, not sorted")
        #expect(manifest.env.first?.value == "last")
        #expect(manifest.setup == [Manifest.SetupStep(name: "tools", run: "make -C /opt/tools install"),
                                   Manifest.SetupStep(name: "more", run: "echo one\nname = \"not a key\"\n")])
        #expect(manifest.shell == Manifest.Shell(command: "/bin/bash", workdir: .path("/workspace"), hostname: "webapp"))
        #expect(manifest.network == .none)
        #expect(manifest.seccomp == .unconfined)
        #expect(manifest.mounts.map(\.hostPath) == ["/home/ada/.gitconfig", "/srv/data", "/home/ada"])
        #expect(manifest.mounts.map(\.readOnly) == [true, false, true])
        #expect(manifest.mounts.map(\.position) == [SourcePosition(line: 41, column: 1), SourcePosition(line: 42, column: 1), SourcePosition(line: 43, column: 1)])
    }

    @Test func defaults() throws {
        let manifest = try parse("[base]\nimage = \"debian:bookworm\"\n")
        #expect(manifest.name == nil)
        #expect(manifest.shell == Manifest.Shell())
        #expect(manifest.network == .host)
        #expect(manifest.seccomp == .default)
        #expect(manifest.mounts.isEmpty && manifest.env.isEmpty && manifest.setup.isEmpty && manifest.packages.isEmpty)
    }

    @Test func bootstrapTakesAMirror() throws {
        #expect(try parse("[base]\nbootstrap = \"debian:trixie\"\n").base == .bootstrap("debian:trixie", mirror: Manifest.defaultMirror))
        #expect(try parse("[base]\nbootstrap = \"debian:trixie\"\nmirror = \"http://m/debian\"\n").base == .bootstrap("debian:trixie", mirror: "http://m/debian"))
    }

    @Test func invalidTOMLNamesTheSyntaxErrorsPosition() throws {
        let error = try failure("[base]\nimage = \"debian\n")
        #expect(error.position.line == 2)
        #expect(error.problem.hasPrefix("invalid TOML: "))
        #expect(error.description.hasPrefix("/p/.devenv/devenv.toml:2:"))
        #expect(error.fix.contains("TOML syntax"))
    }

    @Test func anUnknownTableGetsADidYouMean() throws {
        let error = try failure("[base]\nimage = \"debian\"\n\n[shel]\ncommand = \"/bin/sh\"\n")
        #expect(error.position == SourcePosition(line: 4, column: 2))
        #expect(error.problem == "unknown table [shel]; did you mean \"shell\"?")
        #expect(error.fix == "rename \"shel\" to \"shell\"")
        #expect(error.description == "/p/.devenv/devenv.toml:4:2: unknown table [shel]; did you mean \"shell\"?\n  fix: rename \"shel\" to \"shell\"")
    }

    @Test func anUnknownKeyGetsADidYouMean() throws {
        let error = try failure("name = \"x\"\n[base]\n  imgae = \"debian\"\n")
        #expect(error.position == SourcePosition(line: 3, column: 3))
        #expect(error.problem == "unknown key \"imgae\" in [base]; did you mean \"image\"?")
        #expect(error.fix == "rename \"imgae\" to \"image\"")
    }

    @Test func anUnknownKeyFarFromAnyListsTheKeys() throws {
        let error = try failure("[base]\nimage = \"debian\"\n[network]\nspeed = \"fast\"\n")
        #expect(error.position == SourcePosition(line: 4, column: 1))
        #expect(error.problem == "unknown key \"speed\" in [network]; expected one of: mode, ports")
    }

    @Test func unknownKeysInSetupStepsAndDottedKeys() throws {
        let setup = try failure("[base]\nimage = \"d\"\n[[setup]]\nname = \"a\"\nrun = \"b\"\n[[setup]]\nname = \"c\"\nrum = \"d\"\n")
        #expect(setup.position == SourcePosition(line: 8, column: 1))
        #expect(setup.problem == "unknown key \"rum\" in [[setup]] [1]; did you mean \"run\"?")
        let dotted = try failure("base.image = \"d\"\nshell.hostnam = \"x\"\n")
        #expect(dotted.position == SourcePosition(line: 2, column: 1))
        #expect(dotted.problem == "unknown key \"hostnam\" in [shell]; did you mean \"hostname\"?")
    }

    @Test func wrongTypesNameWhatWasExpected() throws {
        let hostname = try failure("[base]\nimage = \"d\"\n[shell]\nhostname = 42\n")
        #expect(hostname.position == SourcePosition(line: 4, column: 12))
        #expect(hostname.problem == "hostname in [shell] must be a string, found integer")
        #expect(hostname.fix == "quote the value: hostname = \"…\"")

        let apt = try failure("[base]\nimage = \"d\"\n[packages]\napt = \"jq\"\n")
        #expect(apt.position == SourcePosition(line: 4, column: 7))
        #expect(apt.problem == "apt in [packages] must be an array of strings, found string")

        let env = try failure("env = 3\n[base]\nimage = \"d\"\n")
        #expect(env.position == SourcePosition(line: 1, column: 7))
        #expect(env.problem == "env must be a table, found integer")

        let mode = try failure("[base]\nimage = \"d\"\n[mounts]\n\"/srv\" = true\n")
        #expect(mode.position == SourcePosition(line: 4, column: 10))
        #expect(mode.problem == "\"/srv\" in [mounts] must be a string, found bool")
    }

    @Test func enumeratedValuesSuggestTheClosest() throws {
        let error = try failure("[base]\nimage = \"d\"\n[network]\nmode = \"nnoe\"\n")
        #expect(error.position == SourcePosition(line: 4, column: 8))
        #expect(error.problem == "mode in [network] must be one of \"host\", \"none\", \"private\", found \"nnoe\"")
        #expect(error.fix == "did you mean \"none\"? write mode = \"none\"")
        let seccomp = try failure("[base]\nimage = \"d\"\n[security]\nseccomp = \"off\"\n")
        #expect(seccomp.position == SourcePosition(line: 4, column: 11))
    }

    @Test func portsArePublishedFromAPrivateNetworkOnly() throws {
        let manifest = try parse("[base]\nimage = \"d\"\n[network]\nports = [\"8000\", \"15432:5432\"]\nmode = \"private\"\n")
        #expect(manifest.ports == [Manifest.Port(host: 8000, inside: 8000), Manifest.Port(host: 15432, inside: 5432)])
        let host = try failure("[base]\nimage = \"d\"\n[network]\nports = [\"8000\"]\n")
        #expect(host.position == SourcePosition(line: 4, column: 9))
        #expect(host.problem == "ports are published only from a private network, and [network] mode is \"host\"")
        for bad in ["0", "65536", "08000", "80:", ":80", "1:2:3", "http", "8000/udp", " 80", "+80", "１２"] {
            let error = try failure("[base]\nimage = \"d\"\n[network]\nmode = \"private\"\nports = [\"80\", \"\(bad)\"]\n")
            #expect(error.position.line == 5, "\(bad)")
            #expect(error.problem.hasSuffix("is not a port (1–65535) or HOST:INSIDE pair of ports"), "\(bad): \(error.problem)")
        }
        let twice = try failure("[base]\nimage = \"d\"\n[network]\nmode = \"private\"\nports = [\"8000\", \"8000:9000\"]\n")
        #expect(twice.problem == "ports entry \"8000:9000\" publishes host port 8000 a second time")
        #expect(twice.position == SourcePosition(line: 5, column: 18))
    }

    @Test func baseTakesExactlyOneOfImageAndBootstrap() throws {
        let both = try failure("[base]\nimage = \"d\"\nbootstrap = \"debian:bookworm\"\n")
        #expect(both.position == SourcePosition(line: 3, column: 1))
        #expect(both.problem == "[base] has both image and bootstrap; it takes exactly one")
        let neither = try failure("name = \"n\"\n[base]\n")
        #expect(neither.position == SourcePosition(line: 2, column: 2))
        let missing = try failure("name = \"n\"\n")
        #expect(missing.problem.hasPrefix("no [base] table"))
        let reference = try failure("[base]\nimage = \"Debian:Bookworm!\"\n")
        #expect(reference.position == SourcePosition(line: 2, column: 9))
        #expect(reference.problem.hasPrefix("image \"Debian:Bookworm!\" is not a valid image reference"))
        let bootstrap = try failure("[base]\nbootstrap = \"ubuntu\"\n")
        #expect(bootstrap.problem == "bootstrap \"ubuntu\" is not of the form \"debian:SUITE\"")
    }

    @Test func badPackageSpecsPointAtTheEntry() throws {
        let apt = try failure("[base]\nimage = \"d\"\n[packages]\napt = [\"jq\", \"Bad_Name\"]\n")
        #expect(apt.position == SourcePosition(line: 4, column: 14))
        #expect(apt.problem.hasPrefix("apt entry \"Bad_Name\" is not a Debian package name"))
        #expect(apt.fix.contains("\"jq=1.6-2.1\""))
        let pip = try failure("[base]\nimage = \"d\"\n[packages]\npip = [\n  \"six\",\n  \"django=4.2\",\n]\n")
        #expect(pip.position == SourcePosition(line: 6, column: 3))
        #expect(pip.problem == "pip entry \"django=4.2\" has \"=4.2\" where a version specifier (==, >=, ~=, …) was expected")
    }

    @Test func envNamesAndMountPathsAreChecked() throws {
        let env = try failure("[base]\nimage = \"d\"\n[env]\nOK = \"1\"\n\"1BAD\" = \"x\"\n")
        #expect(env.position == SourcePosition(line: 5, column: 1))
        #expect(env.problem.hasPrefix("\"1BAD\" is not a valid environment variable name"))
        let mount = try failure("[base]\nimage = \"d\"\n[mounts]\n\"relative/dir\" = \"ro\"\n")
        #expect(mount.position == SourcePosition(line: 4, column: 1))
        #expect(mount.problem == "mount \"relative/dir\" is not an absolute path or ~/…")
        let mode = try failure("[base]\nimage = \"d\"\n[mounts]\n\"/srv\" = \"readonly\"\n")
        #expect(mode.problem == "mount mode must be \"ro\" or \"rw\", found \"readonly\"")
        #expect(mode.position == SourcePosition(line: 4, column: 10))
    }

    @Test func shellValuesAreChecked() throws {
        let workdir = try failure("[base]\nimage = \"d\"\n[shell]\nworkdir = \"relative\"\n")
        #expect(workdir.position == SourcePosition(line: 4, column: 11))
        #expect(workdir.problem.hasPrefix("workdir \"relative\" must be \"same\" or an absolute path"))
        let hostname = try failure("[base]\nimage = \"d\"\n[shell]\nhostname = \"my_host\"\n")
        #expect(hostname.problem.hasPrefix("hostname \"my_host\" is not a valid host name"))
        let command = try failure("[base]\nimage = \"d\"\n[shell]\ncommand = \"bash\"\n")
        #expect(command.problem == "shell command \"bash\" is not an absolute path")
    }

    @Test func tildeExpandsToTheHostHome() throws {
        let manifest = try parse("[base]\nimage = \"d\"\n[mounts]\n\"~/.ssh/config\" = \"ro\"\n\"~\" = \"rw\"\n")
        #expect(manifest.mounts.map(\.hostPath) == ["/home/ada/.ssh/config", "/home/ada"])
        #expect(manifest.mounts.map(\.written) == ["~/.ssh/config", "~"])
        let other = try failure("[base]\nimage = \"d\"\n[mounts]\n\"~bob/x\" = \"ro\"\n")
        #expect(other.problem == "mount \"~bob/x\" is not an absolute path or ~/…")
    }
}
