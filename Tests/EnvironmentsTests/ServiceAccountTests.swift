import ImageStore
import Manifest
import Sandbox
import Testing
@testable import Environments

/// Who a service or a volume belongs to (`user` in `[services.NAME]` and `[volumes]`): found in the
/// environment's /etc/passwd, and refused before anything starts when the image lacks the user
/// or this machine's id mapping cannot hold its ids.
@Suite struct ServiceAccountTests {
    static let manifestPath = "/home/ada/web/.devenv/devenv.toml"
    static let passwd = """
        root:x:0:0:root:/root:/bin/bash
        ada:x:1000:1000:ada:/home/ada:/bin/bash
        postgres:x:104:110:PostgreSQL administrator,,,:/var/lib/postgresql:/bin/bash
        broken:x:105
        far:x:70000:70000::/srv/far:/bin/false
        """

    /// The environment's spec as `enter` builds it for ada (uid 1000), over `identity`.
    func spec(_ identity: IDMapping) -> SandboxSpec {
        var spec = SandboxSpec(command: ["/bin/bash"], environment: [], workingDirectory: "/home/ada/web", hostname: "web",
                               layersDirectory: "/store/layers", layers: ["base"], identity: identity)
        spec.files = [SandboxSpec.File(path: "/etc/hosts", contents: "127.0.0.1 localhost\n"),
                      SandboxSpec.File(path: "/etc/passwd", contents: Self.passwd)]
        return spec
    }

    static let single = IDMapping.forUser(uid: 1000, gid: 1000, asRoot: false, subuids: [], subgids: [], helpersAvailable: false)
    static func subordinate(count: UInt32) -> IDMapping {
        let range = [SubordinateRange(start: 100_000, count: count)]
        return IDMapping.forUser(uid: 1000, gid: 1000, asRoot: false, subuids: range, subgids: range, helpersAvailable: true)
    }

    func resolve(_ user: String?, _ identity: IDMapping) throws -> ServiceAccount {
        try ServiceAccount.resolve(user, for: "service \"db\" runs as", spec: spec(identity), manifestPath: Self.manifestPath,
                                   position: SourcePosition(line: 7, column: 2))
    }

    /// The message `resolve` refuses `user` with; resolving fails the test.
    func refusal(_ user: String, _ identity: IDMapping, sourceLocation: SourceLocation = #_sourceLocation) -> String? {
        let error = #expect(throws: DevenvError.self, sourceLocation: sourceLocation) { _ = try resolve(user, identity) }
        #expect(error?.kind == .user, sourceLocation: sourceLocation)
        return error?.description
    }

    @Test func aUserIsFoundByNameOrByUidWithItsGroupAndHome() {
        let postgres = ServiceAccount(name: "postgres", uid: 104, gid: 110, home: "/var/lib/postgresql")
        #expect(ServiceAccount.find("postgres", passwd: Self.passwd) == postgres)
        #expect(ServiceAccount.find("104", passwd: Self.passwd) == postgres)
        #expect(ServiceAccount.find("0", passwd: Self.passwd) == ServiceAccount(name: "root", uid: 0, gid: 0, home: "/root"))
    }

    /// Images running as `user = "999"` without an entry (many official images) still run: the
    /// uid is its own group, with / as home.
    @Test func aUidWithoutAnEntryRunsAsItsOwnNumber() {
        #expect(ServiceAccount.find("999", passwd: Self.passwd) == ServiceAccount(name: "999", uid: 999, gid: 999, home: "/"))
        #expect(ServiceAccount.find("999", passwd: "") == ServiceAccount(name: "999", uid: 999, gid: 999, home: "/"))
    }

    @Test func aNameThatIsNoUserAndALineCutShortFindNobody() {
        #expect(ServiceAccount.find("redis", passwd: Self.passwd) == nil)
        #expect(ServiceAccount.find("broken", passwd: Self.passwd) == nil, "a line of fewer than 7 fields is no entry")
        #expect(ServiceAccount.find("", passwd: Self.passwd) == nil)
    }

    @Test func withoutAUserTheServiceRunsAsTheEnvironmentsOwnUser() throws {
        #expect(try resolve(nil, Self.single) == ServiceAccount(name: "ada", uid: 1000, gid: 1000, home: "/home/ada"))
        // --root: root inside, whatever the image calls it.
        let asRoot = IDMapping.forUser(uid: 1000, gid: 1000, asRoot: true, subuids: [], subgids: [], helpersAvailable: false)
        #expect(try resolve(nil, asRoot) == ServiceAccount(name: "root", uid: 0, gid: 0, home: "/root"))
    }

    @Test func aUserTheMappingHoldsIsResolved() throws {
        #expect(try resolve("postgres", Self.subordinate(count: 65536)).uid == 104)
        #expect(try resolve("ada", Self.single) == ServiceAccount(name: "ada", uid: 1000, gid: 1000, home: "/home/ada"))
        // Root's sandboxes map ids 0 to 65535.
        let root = IDMapping.shiftedRoot(subuids: [], subgids: [])
        #expect(try resolve("postgres", root).gid == 110)
    }

    @Test func anUnknownUserIsNamedAtItsLineWithTheFix() throws {
        let message = try #require(refusal("redis", Self.subordinate(count: 65536)))
        #expect(message.contains(
            "/home/ada/web/.devenv/devenv.toml:7:2: service \"db\" runs as \"redis\", which is not a user of the environment's /etc/passwd"),
            "\(message)")
        #expect(message.contains("fix: install the package that creates it in [packages] apt"), "\(message)")
    }

    @Test func withASingleIdMappingAnotherUserCannotBeMappedAndSubordinateIdsAreTheFix() throws {
        let message = try #require(refusal("postgres", Self.single))
        #expect(message.hasPrefix("/home/ada/web/.devenv/devenv.toml:7:2: service \"db\" runs as postgres (uid 104, gid 110), "
            + "which this machine cannot map into the sandbox: devenv runs with a single-id mapping"), "\(message)")
        #expect(message.contains("fix: add subordinate ids for your user (as root: usermod --add-subuids"), "\(message)")
        // A uid without an entry is refused the same way.
        #expect(refusal("999", Self.single)?.contains("runs as 999 (uid 999, gid 999)") == true)
    }

    @Test func anIdOutsideTheSubordinateRangesAsksForALargerRange() throws {
        // 100 subordinate ids: inside ids 0 to 99 and the user's own.
        let message = try #require(refusal("postgres", Self.subordinate(count: 100)))
        #expect(message.contains("runs as postgres (uid 104, gid 110), which this machine cannot map into the sandbox: "
            + "the id is outside your subordinate ranges"), "\(message)")
        #expect(message.contains("fix: give your user a larger subordinate range in /etc/subuid and /etc/subgid"), "\(message)")
        // 65536 ids stop at 65535.
        #expect(refusal("far", Self.subordinate(count: 65536))?.contains("far (uid 70000, gid 70000)") == true)
    }

    @Test func aGroupOutsideTheMappingIsRefusedToo() throws {
        // uid 104 is inside 200 subordinate ids, its group 210 is not.
        let passwd = "svc:x:104:210::/srv:/bin/sh\n"
        var spec = spec(Self.subordinate(count: 200))
        spec.files = [SandboxSpec.File(path: "/etc/passwd", contents: passwd)]
        let error = #expect(throws: DevenvError.self) {
            _ = try ServiceAccount.resolve("svc", for: "volume \"cache\" belongs to", spec: spec, manifestPath: Self.manifestPath,
                                           position: SourcePosition(line: 12, column: 1))
        }
        #expect(error?.description.contains(":12:1: volume \"cache\" belongs to svc (uid 104, gid 210)") == true, "\(String(describing: error))")
    }
}
