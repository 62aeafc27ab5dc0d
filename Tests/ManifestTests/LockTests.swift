import Foundation
import TestSupport
import Testing
@testable import Manifest

@Suite struct LockTests {
    static let digest = "sha256:" + String(repeating: "a", count: 64)
    static let hashB = String(repeating: "b", count: 64)
    static let hashC = String(repeating: "c", count: 64)

    func manifest(_ body: String) throws -> Manifest {
        try Manifest.parse(body, file: "/p/.devenv/devenv.toml", home: "/home/ada")
    }

    func manifest(apt: [String] = [], pip: [String] = [], base: String = "image = \"debian:bookworm\"") throws -> Manifest {
        let list = { (entries: [String]) in "[" + entries.map { "\"\($0)\"" }.joined(separator: ", ") + "]" }
        return try manifest("[base]\n\(base)\n[packages]\napt = \(list(apt))\npip = \(list(pip))\n")
    }

    /// The lock a resolver would write for `manifest`.
    func fresh(for manifest: Manifest) -> Lock {
        let base: Lock.Base = switch manifest.base {
        case .image(let image): Lock.Base(image: image, digest: Self.digest, platform: "linux/amd64")
        case .bootstrap(let suite, let mirror): Lock.Base(platform: "linux/amd64", bootstrap: suite, mirror: mirror)
        }
        let requests = manifest.aptRequests
        let apt = requests.isEmpty ? nil : Lock.Apt(
            requested: requests,
            packages: requests.map { Lock.AptPackage(name: String(Lock.aptName($0)), version: "1.0-1", architecture: "amd64") })
        let pip = manifest.packages.pip.isEmpty ? nil : Lock.Pip(
            requested: manifest.packages.pip, python: "3.11.2",
            distributions: manifest.packages.pip.map { Lock.PipDistribution(name: Lock.pipName($0), version: "1.0", sha256: [Self.hashB]) })
        return Lock(base: base, apt: apt, pip: pip)
    }

    var sample: Lock {
        Lock(base: Lock.Base(image: "debian:bookworm", digest: Self.digest, platform: "linux/amd64"),
             apt: Lock.Apt(requested: ["jq", "python3-venv"], packages: [
                 Lock.AptPackage(name: "jq", version: "1.6-2.1", architecture: "amd64"),
                 Lock.AptPackage(name: "python3-venv", version: "3.11.2-1+b1", architecture: "amd64"),
             ]),
             pip: Lock.Pip(requested: ["six==1.16.0"], python: "3.11.2",
                           distributions: [Lock.PipDistribution(name: "six", version: "1.16.0", sha256: [Self.hashB])]))
    }

    // MARK: Encoding

    @Test func theJSONTextIsExactlyThis() {
        let expected = """
            {
              "apt" : {
                "packages" : [
                  {
                    "architecture" : "amd64",
                    "name" : "jq",
                    "version" : "1.6-2.1"
                  },
                  {
                    "architecture" : "amd64",
                    "name" : "python3-venv",
                    "version" : "3.11.2-1+b1"
                  }
                ],
                "requested" : [
                  "jq",
                  "python3-venv"
                ]
              },
              "base" : {
                "digest" : "\(Self.digest)",
                "image" : "debian:bookworm",
                "platform" : "linux/amd64"
              },
              "pip" : {
                "distributions" : [
                  {
                    "name" : "six",
                    "sha256" : [
                      "\(Self.hashB)"
                    ],
                    "version" : "1.16.0"
                  }
                ],
                "python" : "3.11.2",
                "requested" : [
                  "six==1.16.0"
                ]
              },
              "version" : 1
            }

            """
        #expect(String(decoding: sample.encoded(), as: UTF8.self) == expected)
    }

    @Test func absentPartsAreOmittedAndSlashesAreNotEscaped() {
        let lock = Lock(base: Lock.Base(bootstrap: "debian:bookworm", mirror: "http://deb.debian.org/debian"))
        #expect(String(decoding: lock.encoded(), as: UTF8.self) == """
            {
              "base" : {
                "bootstrap" : "debian:bookworm",
                "mirror" : "http://deb.debian.org/debian"
              },
              "version" : 1
            }

            """)
    }

    @Test func roundTripsAndReencodesToTheSameBytes() throws {
        let data = sample.encoded()
        let decoded = try Lock.decode(data, file: "devenv.lock")
        #expect(decoded == sample)
        #expect(decoded.encoded() == data)
        #expect(sample.encoded() == data)
    }

    @Test func encodingSortsPackagesDistributionsAndHashes() throws {
        var shuffled = sample
        shuffled.apt?.packages = [
            Lock.AptPackage(name: "zlib1g", version: "1:1.2.13", architecture: "amd64"),
            Lock.AptPackage(name: "libc6", version: "2.36-9", architecture: "i386"),
            Lock.AptPackage(name: "libc6", version: "2.36-9", architecture: "amd64"),
        ]
        shuffled.pip?.distributions = [
            Lock.PipDistribution(name: "Zope.Interface", version: "6.0", sha256: [Self.hashC, Self.hashB]),
            Lock.PipDistribution(name: "django", version: "4.2.16", sha256: [Self.hashB]),
            Lock.PipDistribution(name: "six", version: "1.16.0", sha256: [Self.hashB]),
        ]
        var sorted = shuffled
        sorted.apt?.packages = [shuffled.apt!.packages[2], shuffled.apt!.packages[1], shuffled.apt!.packages[0]]
        sorted.pip?.distributions = [
            shuffled.pip!.distributions[1], shuffled.pip!.distributions[2],
            Lock.PipDistribution(name: "Zope.Interface", version: "6.0", sha256: [Self.hashB, Self.hashC]),
        ]
        #expect(shuffled.encoded() == sorted.encoded())
        #expect(try Lock.decode(shuffled.encoded(), file: "devenv.lock") == sorted)
        // The requests keep the manifest's order: it is what they are compared against.
        shuffled.apt?.requested = ["python3-venv", "jq"]
        #expect(try Lock.decode(shuffled.encoded(), file: "devenv.lock").apt?.requested == ["python3-venv", "jq"])
    }

    @Test func pipNamesAreNormalizedAsPEP503Says() {
        #expect(Lock.normalizedPipName("Zope.Interface") == "zope-interface")
        #expect(Lock.normalizedPipName("foo__bar-.baz") == "foo-bar-baz")
        #expect(Lock.pipName("Requests[socks]>=2.31") == "requests")
        #expect(Lock.pipName("tomli; python_version < '3.11'") == "tomli")
    }

    // MARK: aptRequests

    @Test func aptRequestsAddPython3VenvForPip() throws {
        #expect(try manifest(apt: ["jq", "curl=7.88.1-10"]).aptRequests == ["jq", "curl=7.88.1-10"])
        #expect(try manifest(apt: ["jq"], pip: ["six"]).aptRequests == ["jq", "python3-venv"])
        #expect(try manifest(pip: ["six"]).aptRequests == ["python3-venv"])
        #expect(try manifest(apt: ["python3-venv=3.11.2-1+b1", "jq"], pip: ["six"]).aptRequests == ["python3-venv=3.11.2-1+b1", "jq"])
        #expect(try manifest().aptRequests.isEmpty)
    }

    // MARK: Differences and freshness

    @Test func aLockResolvedForTheManifestIsFresh() throws {
        for manifest in [try manifest(), try manifest(apt: ["jq"]), try manifest(apt: ["jq"], pip: ["six==1.16.0"]), try manifest(pip: ["six"]),
                         try manifest(apt: ["jq"], base: "bootstrap = \"debian:bookworm\"")] {
            let lock = fresh(for: manifest)
            #expect(lock.differences(from: manifest) == [])
            #expect(lock.freshness(for: manifest) == Lock.Freshness(base: true, apt: true, pip: true))
            #expect(lock.freshness(for: manifest).isFresh)
        }
    }

    @Test func aChangedImageMakesEverythingStale() throws {
        let lock = fresh(for: try manifest(apt: ["jq"], pip: ["six"]))
        let changed = try manifest(apt: ["jq"], pip: ["six"], base: "image = \"debian:trixie\"")
        #expect(lock.differences(from: changed) == [#"[base] image is "debian:trixie" but the lock was resolved for "debian:bookworm""#])
        #expect(lock.freshness(for: changed) == Lock.Freshness(base: false, apt: false, pip: false))
        #expect(!lock.freshness(for: changed).isFresh)
    }

    @Test func switchingBetweenImageAndBootstrapIsNamed() throws {
        let imageLock = fresh(for: try manifest())
        let bootstrap = try manifest(base: "bootstrap = \"debian:bookworm\"")
        #expect(imageLock.differences(from: bootstrap) == [#"[base] bootstrap is "debian:bookworm" but the lock was resolved for image "debian:bookworm""#])
        #expect(fresh(for: bootstrap).differences(from: try manifest()) == [#"[base] image is "debian:bookworm" but the lock was resolved for bootstrap "debian:bookworm""#])
        #expect(Lock(base: Lock.Base()).differences(from: bootstrap) == [#"[base] bootstrap is "debian:bookworm" but the lock names no base"#])
    }

    @Test func aChangedMirrorMakesABootstrapBaseStale() throws {
        let lock = fresh(for: try manifest(apt: ["jq"], base: "bootstrap = \"debian:bookworm\""))
        let changed = try manifest(apt: ["jq"], base: "bootstrap = \"debian:bookworm\"\nmirror = \"https://mirror.example/debian\"")
        #expect(lock.differences(from: changed) == [#"[base] mirror is "https://mirror.example/debian" but the lock was resolved with "http://deb.debian.org/debian""#])
        #expect(lock.freshness(for: changed) == Lock.Freshness(base: false, apt: false, pip: false))
        var noMirror = lock
        noMirror.base.mirror = nil
        #expect(noMirror.differences(from: changed) == [#"[base] mirror is "https://mirror.example/debian" but the lock names no mirror"#])
    }

    @Test func anImageBaseWithoutDigestIsStaleButABootstrapBaseNeedsNone() throws {
        let manifest = try manifest(apt: ["jq"])
        var lock = fresh(for: manifest)
        lock.base.digest = nil
        #expect(lock.differences(from: manifest) == ["the lock has no base digest"])
        #expect(lock.freshness(for: manifest) == Lock.Freshness(base: false, apt: false, pip: false))
        let bootstrap = try self.manifest(base: "bootstrap = \"debian:bookworm\"")
        #expect(fresh(for: bootstrap).base.digest == nil)
        #expect(fresh(for: bootstrap).freshness(for: bootstrap).isFresh)
    }

    @Test func aptChangesAreNamedAndLeaveTheBaseFresh() throws {
        let lock = fresh(for: try manifest(apt: ["jq", "curl", "git=1:2.39.2-1.1"]))
        let changed = try manifest(apt: ["jq=1.6-2.1", "git=1:2.39.2-1.1", "make"])
        #expect(lock.differences(from: changed) == [
            #"[packages] apt changes "jq" to "jq=1.6-2.1""#,
            #"[packages] apt adds "make""#,
            #"[packages] apt no longer lists "curl""#,
        ])
        #expect(lock.freshness(for: changed) == Lock.Freshness(base: true, apt: false, pip: false))
    }

    @Test func aptFromNothingAndToNothing() throws {
        let bare = fresh(for: try manifest())
        #expect(bare.apt == nil)
        #expect(bare.differences(from: try manifest(apt: ["curl"])) == [#"[packages] apt adds "curl""#])
        let withJq = fresh(for: try manifest(apt: ["jq"]))
        #expect(withJq.differences(from: try manifest()) == [#"[packages] apt no longer lists "jq""#])
        #expect(withJq.freshness(for: try manifest()) == Lock.Freshness(base: true, apt: false, pip: false))
        var empty = bare
        empty.apt = Lock.Apt(requested: [], packages: [])
        #expect(empty.differences(from: try manifest()) == ["the lock has an \"apt\" section but [packages] lists no apt entries"])
    }

    @Test func reorderedAptIsStale() throws {
        let lock = fresh(for: try manifest(apt: ["jq", "curl"]))
        #expect(lock.differences(from: try manifest(apt: ["curl", "jq"])) == ["[packages] apt lists the same entries in a different order than the lock"])
    }

    @Test func addingPipAddsPython3VenvToApt() throws {
        let lock = fresh(for: try manifest(apt: ["jq"]))
        let withPip = try manifest(apt: ["jq"], pip: ["six"])
        #expect(lock.differences(from: withPip) == [#"[packages] apt adds "python3-venv" (for [packages] pip)"#, #"[packages] pip adds "six""#])
        #expect(lock.freshness(for: withPip) == Lock.Freshness(base: true, apt: false, pip: false))
    }

    @Test func pipChangesAreNamedAndLeaveAptFresh() throws {
        let lock = fresh(for: try manifest(apt: ["jq"], pip: ["six==1.16.0", "Django==4.2.16", "tomli"]))
        let changed = try manifest(apt: ["jq"], pip: ["six==1.15.0", "django==4.2.16", "requests"])
        #expect(lock.differences(from: changed) == [
            #"[packages] pip changes "six==1.16.0" to "six==1.15.0""#,
            #"[packages] pip changes "Django==4.2.16" to "django==4.2.16""#,
            #"[packages] pip adds "requests""#,
            #"[packages] pip no longer lists "tomli""#,
        ])
        #expect(lock.freshness(for: changed) == Lock.Freshness(base: true, apt: true, pip: false))
    }

    @Test func droppingPipIsStaleInAptAndPip() throws {
        let lock = fresh(for: try manifest(apt: ["jq"], pip: ["six"]))
        let changed = try manifest(apt: ["jq"])
        #expect(lock.differences(from: changed) == [#"[packages] apt no longer lists "python3-venv""#, #"[packages] pip no longer lists "six""#])
        #expect(lock.freshness(for: changed) == Lock.Freshness(base: true, apt: false, pip: false))
    }

    @Test func staleAptMakesPipStaleEvenWhenPipIsUnchanged() throws {
        let lock = fresh(for: try manifest(apt: ["jq"], pip: ["six"]))
        let changed = try manifest(apt: ["jq", "curl"], pip: ["six"])
        #expect(lock.differences(from: changed) == [#"[packages] apt adds "curl""#])
        #expect(lock.freshness(for: changed) == Lock.Freshness(base: true, apt: false, pip: false))
    }

    // MARK: Loading

    /// The error loading `text` fails with; a lock that loads fails the test.
    func failure(_ text: String, sourceLocation: SourceLocation = #_sourceLocation) throws -> ManifestError {
        do {
            let lock = try Lock.decode(Data(text.utf8), file: "/p/.devenv/devenv.lock")
            Issue.record("loaded, expected an error: \(lock)", sourceLocation: sourceLocation)
            throw CancellationError()
        } catch let error as ManifestError {
            return error
        }
    }

    /// The sample lock's JSON with `old` replaced by `new`.
    func sampleText(replacing old: String, with new: String) -> String {
        let text = String(decoding: sample.encoded(), as: UTF8.self)
        precondition(text.contains(old))
        return text.replacingOccurrences(of: old, with: new)
    }

    @Test func loadReadsAFile() throws {
        let scratch = try TemporaryDirectory("LockTests")
        let path = scratch.path + "/" + Lock.fileName
        try sample.encoded().write(to: URL(fileURLWithPath: path))
        #expect(try Lock.load(path: path) == sample)
    }

    @Test func aMissingFileSaysHowToWriteIt() {
        let path = "/nonexistent-\(UUID().uuidString)/devenv.lock"
        #expect(throws: ManifestError(file: path, position: SourcePosition(line: 1, column: 1),
                                      problem: "there is no lock file", fix: "run `devenv lock` to write it")) {
            try Lock.load(path: path)
        }
    }

    @Test func invalidJSONIsPlacedAtItsLineAndColumn() throws {
        let error = try failure("{\n  \"version\": 1,\n  \"base\": {,}\n}\n")
        #expect(error.file == "/p/.devenv/devenv.lock")
        #expect(error.position == SourcePosition(line: 3, column: 12))
        #expect(error.problem.hasPrefix("the lock is not valid JSON"))
        #expect(error.fix == "run `devenv lock --update` to write it again")
        #expect(error.description.hasPrefix("/p/.devenv/devenv.lock:3:12: the lock is not valid JSON"))
    }

    @Test func truncatedJSONIsPlacedAtItsEnd() throws {
        let error = try failure("{\n  \"version\": 1,\n  \"base\": {")
        #expect(error.position == SourcePosition(line: 3, column: 12))
    }

    @Test func aNewerVersionSaysSo() throws {
        let error = try failure(sampleText(replacing: "\"version\" : 1", with: "\"version\" : 2"))
        #expect(error.problem == "the lock has version 2: it was written by a newer devenv (this one reads version 1)")
        #expect(error.fix == "update devenv, or run `devenv lock --update` to write it again in version 1")
        #expect(error.position == SourcePosition(line: 40, column: 15))
    }

    @Test func versionMustBeOneAndPresent() throws {
        #expect(try failure(sampleText(replacing: "\"version\" : 1", with: "\"version\" : 0")).problem == "the lock has version 0; expected 1")
        #expect(try failure(sampleText(replacing: "\"version\" : 1", with: "\"version\" : \"1\"")).problem == "\"version\" must be an integer")
        #expect(try failure(sampleText(replacing: ",\n  \"version\" : 1", with: "")).problem == "the lock has no \"version\"")
        #expect(try failure("[1]").problem == "the lock is not a JSON object")
    }

    @Test func aBadDigestIsNamedWhereItIs() throws {
        let error = try failure(sampleText(replacing: Self.digest, with: "sha256:abc"))
        #expect(error.problem == "\"base.digest\" \"sha256:abc\" is not sha256:<64 lowercase hex digits>")
        #expect(error.position == SourcePosition(line: 21, column: 16))
    }

    @Test func wrongTypesAndMissingKeysNameTheirPath() throws {
        let wrongType = try failure(sampleText(replacing: "\"name\" : \"python3-venv\"", with: "\"name\" : 3"))
        #expect(wrongType.problem.hasPrefix("\"apt.packages[1].name\" has the wrong type"))
        #expect(wrongType.position == SourcePosition(line: 11, column: 18))
        let missing = try failure(sampleText(replacing: "\"python\" : \"3.11.2\",", with: ""))
        #expect(missing.problem == "\"pip.python\" is missing")
        // A missing key is placed at the object that lacks it.
        #expect(missing.position == SourcePosition(line: 25, column: 11))
    }

    @Test func validationRejectsWhatNoResolverWrites() throws {
        let cases: [(String, String, String)] = [
            ("\"image\" : \"debian:bookworm\",", "", "\"base\" has neither \"image\" nor \"bootstrap\""),
            ("\"image\" : \"debian:bookworm\",", "\"image\" : \"debian:bookworm\", \"bootstrap\" : \"debian:bookworm\",", "\"base\" has both \"image\" and \"bootstrap\""),
            ("\"platform\" : \"linux/amd64\"", "\"platform\" : \"amd64\"", "\"base.platform\" \"amd64\" is not of the form OS/ARCH[/VARIANT], e.g. \"linux/amd64\""),
            ("\"name\" : \"jq\"", "\"name\" : \"\"", "\"apt.packages\" has \"\", which is not a Debian package name"),
            ("\"version\" : \"1.6-2.1\"", "\"version\" : \"\"", "jq has version \"\", which is not a Debian version"),
            ("\"jq\",\n", "\"Bad Name\",\n", "\"apt.requested\" entry \"Bad Name\" is not an apt package name or name=version"),
            ("\"python\" : \"3.11.2\"", "\"python\" : \"three\"", "\"pip.python\" \"three\" is not a Python version such as \"3.11.2\""),
            ("\"\(Self.hashB)\"", "\"XYZ\"", "six has sha256 \"XYZ\", which is not 64 lowercase hex digits"),
            ("\"name\" : \"six\"", "\"name\" : \"six==1\"", "\"pip.distributions\" has \"six==1\", which is not a project name"),
        ]
        for (old, new, problem) in cases {
            #expect(try failure(sampleText(replacing: old, with: new)).problem == problem)
        }
        var twice = sample
        twice.apt?.packages.append(Lock.AptPackage(name: "jq", version: "1.6-2.1", architecture: "amd64"))
        #expect(try failure(String(decoding: twice.encoded(), as: UTF8.self)).problem == "\"apt.packages\" lists jq for amd64 twice")
        var unhashed = sample
        unhashed.pip?.distributions[0].sha256 = []
        #expect(try failure(String(decoding: unhashed.encoded(), as: UTF8.self)).problem == "six has no sha256 hashes (pip --require-hashes needs at least one)")
        var emptyApt = sample
        emptyApt.apt = Lock.Apt(requested: [], packages: [])
        #expect(try failure(String(decoding: emptyApt.encoded(), as: UTF8.self)).problem == "\"apt.requested\" is empty; a lock with nothing to install has no \"apt\"")
    }

    @Test func positionsCountCharactersNotBytes() {
        let locator = JSONLocator(Data("{\"é€\": 1,\n \"x\": [1, {\"y\": 2}]}".utf8))
        #expect(locator.position(atOffset: 12) == SourcePosition(line: 1, column: 10))
        #expect(locator.position(atOffset: 13) == SourcePosition(line: 2, column: 1))
        #expect(locator.position(of: [.key("x"), .index(1), .key("y")]) == SourcePosition(line: 2, column: 17))
        #expect(locator.position(of: [.key("x"), .index(5)]) == SourcePosition(line: 1, column: 1))
        #expect(locator.position(describedBy: "Invalid value around line 4, column 7.") == SourcePosition(line: 4, column: 7))
        #expect(locator.position(describedBy: "Invalid value around character 7.") == SourcePosition(line: 1, column: 5))
    }
}
