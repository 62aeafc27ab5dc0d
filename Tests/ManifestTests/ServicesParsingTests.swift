import Testing
@testable import Manifest

/// `[services.NAME]` and `[volumes]`: what `devenv up` runs and keeps, parsed into start order and
/// mount order, with every mistake named where it is.
@Suite struct ServicesParsingTests {
    static let file = "/p/.devenv/devenv.toml"
    /// Two lines: a body's first line is line 3.
    static let base = "[base]\nimage = \"debian:bookworm\"\n"

    func parse(_ body: String) throws -> Manifest {
        try Manifest.parse(Self.base + body, file: Self.file, home: "/home/ada")
    }

    /// The error `body` fails with; a manifest that parses fails the test.
    func failure(_ body: String, sourceLocation: SourceLocation = #_sourceLocation) throws -> ManifestError {
        do {
            let manifest = try parse(body)
            Issue.record("parsed, expected an error: \(manifest)", sourceLocation: sourceLocation)
            throw CancellationError()
        } catch let error as ManifestError {
            return error
        }
    }

    // MARK: What parses

    @Test func theDesignsExampleParsesWithBothVolumeForms() throws {
        let manifest = try parse("""
            [services.db]                         # long-running processes of the running environment (devenv up)
            command = "postgres -D /var/lib/postgresql/data"
            user = "postgres"                     # optional: a user of the image
            ready = "pg_isready -h 127.0.0.1"     # optional: exits 0 once the service is ready
            restart = "on-failure"                # optional: no (default) | on-failure | always
            [services.web]
            command = "python -m http.server 8000"
            depends_on = ["db"]                   # started after db is ready

            [volumes]                             # persistent per-project directories, kept across down/up
            "/var/lib/postgresql/data" = "pgdata" # mount point inside = volume name
            "/srv/cache" = { name = "cache", user = "redis" }
            """)
        #expect(manifest.services == [
            Manifest.Service(name: "db", command: "postgres -D /var/lib/postgresql/data", user: "postgres", ready: "pg_isready -h 127.0.0.1",
                             restart: .onFailure, position: SourcePosition(line: 3, column: 2)),
            Manifest.Service(name: "web", command: "python -m http.server 8000", dependsOn: ["db"], position: SourcePosition(line: 8, column: 2)),
        ])
        #expect(manifest.volumes == [
            Manifest.Volume(target: "/srv/cache", name: "cache", user: "redis", position: SourcePosition(line: 14, column: 1)),
            Manifest.Volume(target: "/var/lib/postgresql/data", name: "pgdata", position: SourcePosition(line: 13, column: 1)),
        ], "sorted by target")
        #expect(manifest.volumes.map(manifest.volumeOwner) == ["redis", "postgres"])
    }

    @Test func servicesStartAfterWhatTheyDependOnAndOtherwiseByName() throws {
        let sections = [
            "[services.web]\ncommand = \"serve\"\ndepends_on = [\"api\"]",
            "[services.worker]\ncommand = \"work\"",
            "[services.api]\ncommand = \"api\"\ndepends_on = [\"db\"]",
            "[services.cache]\ncommand = \"redis-server\"",
            "[services.db]\ncommand = \"postgres\"",
        ]
        let manifest = try parse(sections.joined(separator: "\n") + "\n")
        #expect(manifest.services.map(\.name) == ["cache", "db", "api", "web", "worker"])
        let reversed = try parse(sections.reversed().joined(separator: "\n") + "\n")
        #expect(reversed.services.map(\.name) == ["cache", "db", "api", "web", "worker"], "the file's order does not matter")
    }

    @Test func aServiceDependingOnSeveralStartsAfterTheLastOfThem() throws {
        let manifest = try parse("""
            [services.app]
            command = "app"
            depends_on = ["queue", "db"]
            [services.queue]
            command = "queue"
            depends_on = ["db"]
            [services.db]
            command = "db"
            [services.admin]
            command = "admin"
            depends_on = ["db"]
            """)
        #expect(manifest.services.map(\.name) == ["db", "admin", "queue", "app"])
        #expect(manifest.services.last?.dependsOn == ["queue", "db"], "as listed")
    }

    @Test func inlineAndDottedServicesAndHeaderVolumesAreTheSame() throws {
        let manifest = try parse("""
            [services]
            db = { command = "postgres", restart = "always", user = "999" }
            web.command = '''
            cd /srv
            exec python -m http.server 8000
            '''
            web.depends_on = ["db"]
            [volumes."/srv/cache"]
            name = "cache"
            user = "redis"
            """)
        #expect(manifest.services.map(\.name) == ["db", "web"])
        #expect(manifest.services.first?.restart == .always)
        #expect(manifest.services.first?.user == "999")
        #expect(manifest.services.last?.command == "cd /srv\nexec python -m http.server 8000\n")
        #expect(manifest.volumes == [Manifest.Volume(target: "/srv/cache", name: "cache", user: "redis", position: SourcePosition(line: 10, column: 2))])
    }

    @Test func defaultsAndVolumesWithoutServices() throws {
        let manifest = try parse("[services.db]\ncommand = \"postgres\"\n")
        #expect(manifest.services == [Manifest.Service(name: "db", command: "postgres", position: SourcePosition(line: 3, column: 2))])
        #expect(manifest.services.first?.restart == .no)
        #expect(manifest.volumes.isEmpty)
        let volumesOnly = try parse("[volumes]\n\"/data\" = \"data\"\n")
        #expect(volumesOnly.services.isEmpty)
        #expect(volumesOnly.volumes.map(\.name) == ["data"])
        #expect(try parse("").services.isEmpty)
    }

    // MARK: Services that are wrong

    @Test func serviceNamesAreLowercaseWords() throws {
        let upper = try failure("[services.Web]\ncommand = \"x\"\n")
        #expect(upper.position == SourcePosition(line: 3, column: 2))
        #expect(upper.problem == "service name \"Web\" must start with a lowercase letter or digit")
        #expect(upper.fix == "use lowercase letters, digits, _ and -, e.g. \"db\"")
        let space = try failure("[services.\"my db\"]\ncommand = \"x\"\n")
        #expect(space.problem == "service name \"my db\" may hold only lowercase letters, digits, _ and -")
        #expect(try failure("[services.web_Server]\ncommand = \"x\"\n").problem == "service name \"web_Server\" may hold only lowercase letters, digits, _ and -")
        #expect(try failure("[services.db.x]\ncommand = \"x\"\n").problem == "unknown key \"x\" in [services.db]; expected one of: command, user, ready, restart, depends_on")
        let long = try failure("[services.\(String(repeating: "a", count: 64))]\ncommand = \"x\"\n")
        #expect(long.problem.hasSuffix("is longer than 63 characters"))
        #expect(try parse("[services.\(String(repeating: "a", count: 63))]\ncommand = \"x\"\n").services.count == 1)
        #expect(try parse("[services.0-db_1]\ncommand = \"x\"\n").services.first?.name == "0-db_1")
    }

    @Test func unknownKeysInAServiceGetADidYouMean() throws {
        let typo = try failure("[services.db]\ncomand = \"postgres\"\n")
        #expect(typo.position == SourcePosition(line: 4, column: 1))
        #expect(typo.problem == "unknown key \"comand\" in [services.db]; did you mean \"command\"?")
        #expect(typo.fix == "rename \"comand\" to \"command\"")
        let dependsOn = try failure("[services.db]\ncommand = \"x\"\ndependson = []\n")
        #expect(dependsOn.position == SourcePosition(line: 5, column: 1))
        #expect(dependsOn.problem == "unknown key \"dependson\" in [services.db]; did you mean \"depends_on\"?")
        let other = try failure("[services.db]\ncommand = \"x\"\nimage = \"postgres:16\"\n")
        #expect(other.problem == "unknown key \"image\" in [services.db]; expected one of: command, user, ready, restart, depends_on")
    }

    @Test func aServiceNeedsACommand() throws {
        let missing = try failure("[services.db]\nuser = \"postgres\"\n")
        #expect(missing.position == SourcePosition(line: 3, column: 2))
        #expect(missing.problem == "service \"db\" has no command")
        #expect(missing.fix == "add what it runs to [services.db], e.g. command = \"postgres -D /var/lib/postgresql/data\"")
        let blank = try failure("[services.db]\ncommand = \" \\n \"\n")
        #expect(blank.position == SourcePosition(line: 4, column: 11))
        #expect(blank.problem == "command of service \"db\" is empty")
        let number = try failure("[services.db]\ncommand = 5432\n")
        #expect(number.position == SourcePosition(line: 4, column: 11))
        #expect(number.problem == "command in [services.db] must be a string, found integer")
        let table = try failure("[services]\ndb = \"postgres\"\n")
        #expect(table.position == SourcePosition(line: 4, column: 6))
        #expect(table.problem == "db must be a table, found string")
        #expect(table.fix == "write it as a section: [services.db] followed by its keys")
    }

    @Test func commandsAndReadyChecksHoldNoNULOrEscapes() throws {
        let nul = try failure("[services.db]\ncommand = \"postgres\\u0000 --evil\"\n")
        #expect(nul.position == SourcePosition(line: 4, column: 20))
        #expect(nul.problem == "a \\u0000 escape (NUL) has no place in a manifest: devenv would see the string cut short there")
        let escape = try failure("[services.db]\ncommand = \"echo \\u001b[2J\"\n")
        #expect(escape.position == SourcePosition(line: 4, column: 11))
        #expect(escape.problem == "command of service \"db\" contains a control character other than newline and tab")
        let ready = try failure("[services.db]\ncommand = \"postgres\"\nready = \"\"\n")
        #expect(ready.position == SourcePosition(line: 5, column: 9))
        #expect(ready.problem == "ready of service \"db\" is empty")
        #expect(ready.fix.hasSuffix("or remove ready"))
        let readyNUL = try failure("[services.db]\ncommand = \"postgres\"\nready = \"true\\u0000\"\n")
        #expect(readyNUL.position == SourcePosition(line: 5, column: 14))
        let huge = try failure("[services.db]\ncommand = \"\(String(repeating: "x", count: 100_001))\"\n")
        #expect(huge.problem == "command of service \"db\" is 100001 bytes; the kernel passes at most 100000")
    }

    @Test func atMostThirtyTwoServices() throws {
        let sections = (0..<33).map { "[services.s\($0)]\ncommand = \"x\"" }.joined(separator: "\n")
        let error = try failure(sections + "\n")
        #expect(error.position == SourcePosition(line: 67, column: 2), "the 33rd")
        #expect(error.problem == "there are 33 services; devenv takes at most 32")
        #expect(try parse((0..<32).map { "[services.s\($0)]\ncommand = \"x\"" }.joined(separator: "\n") + "\n").services.count == 32)
    }

    @Test func aBadUserIsNamedWhereItIs() throws {
        let name = try failure("[services.db]\ncommand = \"x\"\nuser = \"Postgres\"\n")
        #expect(name.position == SourcePosition(line: 5, column: 8))
        #expect(name.problem == "user \"Postgres\" of service \"db\" is not a user name (lowercase letters, digits, _ and -, starting with a letter or _, at most 32 characters) or a uid")
        #expect(name.fix == "name a user of the image, e.g. \"postgres\", or a uid, e.g. \"999\"")
        let uid = try failure("[services.db]\ncommand = \"x\"\nuser = \"0999\"\n")
        #expect(uid.problem == "user \"0999\" of service \"db\" is not a uid from 0 to 65535 without leading zeros")
        let number = try failure("[services.db]\ncommand = \"x\"\nuser = 999\n")
        #expect(number.problem == "user in [services.db] must be a string, found integer")
    }

    @Test(arguments: ["postgres", "_apt", "www-data", "systemd-network", "host1$", "a", "_", String(repeating: "a", count: 32), "0", "999", "65535"])
    func usersOfAnImageAreAccepted(user: String) {
        #expect(FieldGrammar.userProblem(user) == nil)
    }

    @Test(arguments: ["", "$", "Postgres", "-rf", "--user=root", "post gres", "a:b", "a/b", "a$b", "ab$$", "1abc", "é", "root\n",
                      String(repeating: "a", count: 33), String(repeating: "a", count: 32) + "$", "65536", "00", "007", "1000000", "-1"])
    func otherUsersAreRefused(user: String) {
        #expect(FieldGrammar.userProblem(user) != nil)
    }

    @Test func restartIsOneOfThreePolicies() throws {
        let never = try failure("[services.db]\ncommand = \"x\"\nrestart = \"never\"\n")
        #expect(never.position == SourcePosition(line: 5, column: 11))
        #expect(never.problem == "restart in [services.db] must be one of \"no\", \"on-failure\", \"always\", found \"never\"")
        #expect(never.fix == "write restart = \"no\"")
        let underscore = try failure("[services.db]\ncommand = \"x\"\nrestart = \"on_failure\"\n")
        #expect(underscore.fix == "did you mean \"on-failure\"? write restart = \"on-failure\"")
        #expect(Manifest.RestartPolicy.allCases.map(\.rawValue) == ["no", "on-failure", "always"])
    }

    @Test func dependsOnNamesOtherServicesOnce() throws {
        let db = "[services.db]\ncommand = \"postgres\"\n[services.web]\ncommand = \"serve\"\n"
        let typo = try failure(db + "depends_on = [\"bd\"]\n")
        #expect(typo.position == SourcePosition(line: 7, column: 15))
        #expect(typo.problem == "depends_on entry \"bd\" is not a service of this manifest")
        #expect(typo.fix == "did you mean \"db\"? name one of: db")
        let alone = try failure("[services.web]\ncommand = \"serve\"\ndepends_on = [\"postgres\"]\n")
        #expect(alone.fix == "remove it: there is no other service")
        let itself = try failure(db + "depends_on = [\"db\", \"web\"]\n")
        #expect(itself.position == SourcePosition(line: 7, column: 21))
        #expect(itself.problem == "depends_on entry \"web\" is the service itself")
        let twice = try failure(db + "depends_on = [\"db\", \"db\"]\n")
        #expect(twice.position.line == 7)
        #expect(twice.problem == "depends_on entry \"db\" is listed twice")
        let string = try failure(db + "depends_on = \"db\"\n")
        #expect(string.position == SourcePosition(line: 7, column: 14))
        #expect(string.problem == "depends_on in [services.web] must be an array of strings, found string")
        #expect(string.fix == "write depends_on = [\"…\", \"…\"]")
    }

    @Test func aDependencyCircleIsNamedAtItsFirstService() throws {
        let two = try failure("""
            [services.web]
            command = "serve"
            depends_on = ["db"]
            [services.db]
            command = "postgres"
            depends_on = ["web"]
            """)
        #expect(two.position == SourcePosition(line: 5, column: 15))
        #expect(two.problem == "the services depend on each other in a circle: web → db → web; none of them can start first")
        #expect(two.fix == "remove one depends_on entry of the circle")
        // app is first in the file but not on the circle, which starts at b, its first service there.
        let three = try failure("""
            [services.app]
            command = "app"
            depends_on = ["b"]
            [services.b]
            command = "b"
            depends_on = ["app0", "c"]
            [services.app0]
            command = "app0"
            [services.c]
            command = "c"
            depends_on = ["d"]
            [services.d]
            command = "d"
            depends_on = ["b"]
            """)
        #expect(three.position == SourcePosition(line: 8, column: 23))
        #expect(three.problem == "the services depend on each other in a circle: b → c → d → b; none of them can start first")
    }

    @Test func misspelledOrMistypedTablesAreNamedWhereTheyAre() throws {
        let service = try failure("[service.db]\ncommand = \"x\"\n")
        #expect(service.position == SourcePosition(line: 3, column: 2))
        #expect(service.problem == "unknown table [service]; did you mean \"services\"?")
        let volume = try failure("[volume]\n\"/data\" = \"data\"\n")
        #expect(volume.position == SourcePosition(line: 3, column: 2))
        #expect(volume.problem == "unknown table [volume]; did you mean \"volumes\"?")
        // A top-level key comes before the first table.
        #expect(throws: ManifestError(file: Self.file, position: SourcePosition(line: 1, column: 12), problem: "services must be a table, found array",
                                      fix: "write it as a section: [services] followed by its keys")) {
            try Manifest.parse("services = [\"db\"]\n" + Self.base, file: Self.file, home: "/home/ada")
        }
    }

    // MARK: Volumes that are wrong

    @Test(arguments: [
        ("data", "is not an absolute path", "write the directory's plain absolute path inside, e.g. \"/var/lib/postgresql/data\""),
        ("/", "is / itself", "write the directory's plain absolute path inside, e.g. \"/var/lib/postgresql/data\""),
        ("//", "is / itself", "write the directory's plain absolute path inside, e.g. \"/var/lib/postgresql/data\""),
        ("/data/", "has an empty component (a trailing / or //)", "write \"/data\""),
        ("/srv//cache", "has an empty component (a trailing / or //)", "write \"/srv/cache\""),
        ("/srv/./cache", "has a . or .. component", "write the directory's plain absolute path inside, e.g. \"/var/lib/postgresql/data\""),
        ("/srv/../etc", "has a . or .. component", "write the directory's plain absolute path inside, e.g. \"/var/lib/postgresql/data\""),
        ("/proc", "is /proc, where the sandbox mounts a file system of its own",
         "choose a directory outside /proc, /sys, /dev, /tmp, /run, /var/tmp, e.g. \"/var/lib/cache\""),
        ("/tmp/cache", "is inside /tmp, where the sandbox mounts a file system of its own",
         "choose a directory outside /proc, /sys, /dev, /tmp, /run, /var/tmp, e.g. \"/var/lib/cache\""),
        ("/var/tmp", "is /var/tmp, where the sandbox mounts a file system of its own",
         "choose a directory outside /proc, /sys, /dev, /tmp, /run, /var/tmp, e.g. \"/var/lib/cache\""),
        ("/run/postgresql", "is inside /run, where the sandbox mounts a file system of its own",
         "choose a directory outside /proc, /sys, /dev, /tmp, /run, /var/tmp, e.g. \"/var/lib/cache\""),
        ("/dev/shm", "is inside /dev, where the sandbox mounts a file system of its own",
         "choose a directory outside /proc, /sys, /dev, /tmp, /run, /var/tmp, e.g. \"/var/lib/cache\""),
        ("/sys/fs/cgroup", "is inside /sys, where the sandbox mounts a file system of its own",
         "choose a directory outside /proc, /sys, /dev, /tmp, /run, /var/tmp, e.g. \"/var/lib/cache\""),
    ])
    func mountPointsAreAbsolutePlainAndOutsideTheSandboxsOwn(target: String, problem: String, fix: String) throws {
        let error = try failure("[volumes]\n\"\(target)\" = \"data\"\n")
        #expect(error.position == SourcePosition(line: 4, column: 1))
        #expect(error.problem == "volume mount point \"\(target)\" \(problem)")
        #expect(error.fix == fix)
    }

    @Test func mountPointsBesideTheSandboxsOwnAreFine() throws {
        let manifest = try parse("[volumes]\n\"/tmpdata\" = \"a\"\n\"/var/tmpx\" = \"b\"\n\"/devel\" = \"c\"\n\"/runner/x\" = \"d\"\n\"/var/lib/x\" = \"e\"\n")
        #expect(manifest.volumes.map(\.target) == ["/devel", "/runner/x", "/tmpdata", "/var/lib/x", "/var/tmpx"])
    }

    @Test func mountPointsHoldNoNULOrEscapes() throws {
        let nul = try failure("[volumes]\n\"/srv/\\u0000x\" = \"data\"\n")
        #expect(nul.position == SourcePosition(line: 4, column: 7))
        #expect(nul.problem.hasPrefix("a \\u0000 escape (NUL)"))
        let escape = try failure("[volumes]\n\"/srv/\\u001b[2J\" = \"data\"\n")
        #expect(escape.position == SourcePosition(line: 4, column: 1))
        #expect(escape.problem == #"volume mount point "/srv/\u{1b}[2J" contains a line break or another control character"#)
    }

    @Test func volumeNamesAreLowercaseWordsThatAreNoHiddenFile() throws {
        let hidden = try failure("[volumes]\n\"/data\" = \".data\"\n")
        #expect(hidden.position == SourcePosition(line: 4, column: 11))
        #expect(hidden.problem == "volume name \".data\" must start with a lowercase letter or digit")
        #expect(hidden.fix == "use lowercase letters, digits, ., _ and -, e.g. \"pgdata\"")
        #expect(try failure("[volumes]\n\"/data\" = \"PgData\"\n").problem == "volume name \"PgData\" must start with a lowercase letter or digit")
        #expect(try failure("[volumes]\n\"/data\" = \"pg/data\"\n").problem == "volume name \"pg/data\" may hold only lowercase letters, digits, ., _ and -")
        #expect(try failure("[volumes]\n\"/data\" = \"..\"\n").problem == "volume name \"..\" must start with a lowercase letter or digit")
        #expect(try failure("[volumes]\n\"/data\" = \"\"\n").problem == "volume name \"\" must start with a lowercase letter or digit")
        #expect(try failure("[volumes]\n\"/data\" = \"\(String(repeating: "v", count: 64))\"\n").problem.hasSuffix("is longer than 63 characters"))
        #expect(try parse("[volumes]\n\"/data\" = \"pg.data_16-x\"\n").volumes.first?.name == "pg.data_16-x")
        let inline = try failure("[volumes]\n\"/data\" = { name = \"Data\" }\n")
        #expect(inline.position == SourcePosition(line: 4, column: 11), "the inline table's place")
        #expect(inline.problem == "volume name \"Data\" must start with a lowercase letter or digit")
    }

    @Test func theInlineFormTakesANameAndAUser() throws {
        let typo = try failure("[volumes]\n\"/srv/cache\" = { nme = \"cache\" }\n")
        #expect(typo.position == SourcePosition(line: 4, column: 1))
        #expect(typo.problem == "unknown key \"nme\" in [volumes.\"/srv/cache\"]; did you mean \"name\"?")
        let nameless = try failure("[volumes]\n\"/srv/cache\" = { user = \"redis\" }\n")
        #expect(nameless.position == SourcePosition(line: 4, column: 16))
        #expect(nameless.problem == "volume \"/srv/cache\" has no name")
        #expect(nameless.fix == "write \"/srv/cache\" = { name = \"data\", user = \"postgres\" } (user is optional)")
        let user = try failure("[volumes]\n\"/srv/cache\" = { name = \"cache\", user = \"Redis\" }\n")
        #expect(user.position == SourcePosition(line: 4, column: 16))
        #expect(user.problem.hasPrefix("user \"Redis\" of volume \"/srv/cache\" is not a user name"))
        let number = try failure("[volumes]\n\"/srv/cache\" = { name = 7 }\n")
        #expect(number.problem == "name in [volumes.\"/srv/cache\"] must be a string, found integer")
        let integer = try failure("[volumes]\n\"/srv\" = 3\n")
        #expect(integer.position == SourcePosition(line: 4, column: 10))
        #expect(integer.problem == "volume \"/srv\" must be a volume name or { name = …, user = … }, found integer")
        #expect(integer.fix == "write \"/srv\" = \"data\", or \"/srv\" = { name = \"data\", user = \"postgres\" }")
    }

    @Test func aVolumeIsMountedOnceAndNotInsideAnother() throws {
        let twice = try failure("[volumes]\n\"/a\" = \"data\"\n\"/b\" = { name = \"data\" }\n")
        #expect(twice.position == SourcePosition(line: 5, column: 8))
        #expect(twice.problem == "volume \"data\" is mounted at \"/a\" already (line 4)")
        let inside = try failure("[volumes]\n\"/data\" = \"one\"\n\"/data/x\" = \"two\"\n")
        #expect(inside.position == SourcePosition(line: 5, column: 1))
        #expect(inside.problem == "volume mount point \"/data/x\" is inside volume mount point \"/data\" (line 4)")
        #expect(inside.fix == "mount volumes side by side, e.g. \"/data/a\" and \"/data/b\", not one inside the other")
        let around = try failure("[volumes]\n\"/data/x/y\" = \"one\"\n\"/data\" = \"two\"\n")
        #expect(around.position == SourcePosition(line: 5, column: 1))
        #expect(around.problem == "volume mount point \"/data\" contains volume mount point \"/data/x/y\" (line 4)")
        #expect(try parse("[volumes]\n\"/data\" = \"one\"\n\"/database\" = \"two\"\n\"/data2/x\" = \"three\"\n").volumes.count == 3)
    }

    @Test func atMostThirtyTwoVolumes() throws {
        let error = try failure("[volumes]\n" + (0..<33).map { "\"/v\($0)\" = \"v\($0)\"" }.joined(separator: "\n") + "\n")
        #expect(error.position == SourcePosition(line: 36, column: 1), "the 33rd")
        #expect(error.problem == "[volumes] has 33 entries; devenv takes at most 32")
        #expect(try parse("[volumes]\n" + (0..<32).map { "\"/v\($0)\" = \"v\($0)\"" }.joined(separator: "\n") + "\n").volumes.count == 32)
    }

    // MARK: Volume owners

    func manifest(users: [String?], volumes: [Manifest.Volume]) -> Manifest {
        var manifest = Manifest(base: .image("debian:bookworm"))
        manifest.services = users.enumerated().map { index, user in
            Manifest.Service(name: "s\(index)", command: "true", user: user, position: SourcePosition(line: 1, column: 1))
        }
        manifest.volumes = volumes
        return manifest
    }

    @Test func aVolumeBelongsToItsUserElseToTheOneUserTheServicesRunAs() {
        let named = Manifest.Volume(target: "/cache", name: "cache", user: "redis", position: SourcePosition(line: 1, column: 1))
        let plain = Manifest.Volume(target: "/data", name: "data", position: SourcePosition(line: 2, column: 1))
        let oneUser = manifest(users: ["postgres", nil, "postgres"], volumes: [named, plain])
        #expect(oneUser.volumeOwner(named) == "redis", "the volume's own user first")
        #expect(oneUser.volumeOwner(plain) == "postgres", "services without a user do not count")
        let twoUsers = manifest(users: ["postgres", "redis"], volumes: [plain])
        #expect(twoUsers.volumeOwner(plain) == nil, "ambiguous: the environment's own user")
        #expect(twoUsers.volumeOwner(named) == "redis")
        #expect(manifest(users: [nil, nil], volumes: [plain]).volumeOwner(plain) == nil)
        #expect(manifest(users: [], volumes: [plain]).volumeOwner(plain) == nil)
    }

    // MARK: Run time only

    @Test func servicesAndVolumesLeaveTheLockFreshAndAskNoTrust() throws {
        let packages = "[packages]\napt = [\"jq\"]\npip = [\"six==1.16.0\"]\n"
        let plain = try parse(packages)
        let lock = Lock(base: Lock.Base(image: "debian:bookworm", digest: "sha256:" + String(repeating: "a", count: 64), platform: "linux/amd64"),
                        apt: Lock.Apt(requested: plain.aptRequests, packages: plain.aptRequests.map {
                            Lock.AptPackage(name: $0, version: "1.0-1", architecture: "amd64")
                        }),
                        pip: Lock.Pip(requested: ["six==1.16.0"], python: "3.11.2",
                                      distributions: [Lock.PipDistribution(name: "six", version: "1.16.0", sha256: [String(repeating: "b", count: 64)])]))
        try #require(lock.freshness(for: plain).isFresh)
        let running = try parse(packages + """
            [services.db]
            command = "postgres"
            user = "postgres"
            [volumes]
            "/var/lib/postgresql/data" = "pgdata"
            """)
        #expect(lock.freshness(for: running) == Lock.Freshness(base: true, apt: true, pip: true))
        #expect(lock.differences(from: running).isEmpty)
        #expect(TrustRequest.requests(of: running).isEmpty)
    }
}
