@testable import Sandbox
import Testing

@Suite(.tags(.rootless)) struct IDMappingTests {
    let range = [SubordinateRange(start: 200_000, count: 65536)]

    @Test func rootIsRootInsideOnIdsThatOwnNothingOnTheHost() {
        let mapping = IDMapping.forUser(uid: 0, gid: 0, asRoot: false, subuids: range, subgids: range, helpersAvailable: true)
        #expect(mapping.mode == .root && mapping.shiftsHostIDs)
        #expect(mapping.uids == [IDRange(inside: 0, outside: 200_000, count: 65536)] && mapping.gids == mapping.uids)
        #expect(mapping.uid == 0 && mapping.rootMapped && mapping.setgroupsAllowed)
        // Without ranges of root's own (a range too small does not count), far above useradd's.
        let small = [SubordinateRange(start: 100_000, count: 1000)]
        let fallback = IDMapping.forUser(uid: 0, gid: 0, asRoot: true, subuids: small, subgids: small, helpersAvailable: false)
        #expect(fallback.uids == [IDRange(inside: 0, outside: 3_000_000_000, count: 65536)] && fallback.gids == fallback.uids)
    }

    @Test func keepIDPutsTheUserAtTheirOwnIdAndSubordinateIdsAround() {
        let mapping = IDMapping.forUser(uid: 1001, gid: 1001, asRoot: false, subuids: range, subgids: range, helpersAvailable: true)
        #expect(mapping.mode == .subordinate)
        #expect(mapping.uids == [
            IDRange(inside: 0, outside: 200_000, count: 1001),
            IDRange(inside: 1001, outside: 1001, count: 1),
            IDRange(inside: 1002, outside: 201_001, count: 64535),
        ])
        #expect(mapping.uid == 1001 && mapping.gid == 1001 && mapping.rootMapped)
    }

    @Test func asRootTheUserIsRootInside() {
        let mapping = IDMapping.forUser(uid: 1001, gid: 1001, asRoot: true, subuids: range, subgids: range, helpersAvailable: true)
        #expect(mapping.uids == [IDRange(inside: 0, outside: 1001, count: 1), IDRange(inside: 1, outside: 200_000, count: 65536)])
        #expect(mapping.uid == 0)
    }

    @Test func aUserIdAboveTheRangeStillMapsToItself() {
        let small = [SubordinateRange(start: 100_000, count: 1000)]
        let mapping = IDMapping.forUser(uid: 5000, gid: 5000, asRoot: false, subuids: small, subgids: small, helpersAvailable: true)
        #expect(mapping.uids == [IDRange(inside: 0, outside: 100_000, count: 1000), IDRange(inside: 5000, outside: 5000, count: 1)])
    }

    @Test func severalRangesFillInsideIdsInOrder() {
        let ranges = [SubordinateRange(start: 300_000, count: 10), SubordinateRange(start: 100_000, count: 10)]
        let mapping = IDMapping.forUser(uid: 15, gid: 15, asRoot: false, subuids: ranges, subgids: ranges, helpersAvailable: true)
        #expect(mapping.uids == [
            IDRange(inside: 0, outside: 300_000, count: 10),
            IDRange(inside: 10, outside: 100_000, count: 5),
            IDRange(inside: 15, outside: 15, count: 1),
            IDRange(inside: 16, outside: 100_005, count: 5),
        ])
    }

    @Test func withoutRangesOrHelpersOnlyTheUserIsMapped() {
        for (subuids, helpers) in [([SubordinateRange](), true), (range, false)] {
            let mapping = IDMapping.forUser(uid: 1002, gid: 1003, asRoot: false, subuids: subuids, subgids: range, helpersAvailable: helpers)
            #expect(mapping.mode == .single)
            #expect(mapping.uids == [IDRange(inside: 1002, outside: 1002, count: 1)])
            #expect(mapping.gids == [IDRange(inside: 1003, outside: 1003, count: 1)])
            #expect(!mapping.rootMapped && !mapping.setgroupsAllowed)
        }
        let root = IDMapping.forUser(uid: 1002, gid: 1003, asRoot: true, subuids: [], subgids: [], helpersAvailable: true)
        #expect(root.uids == [IDRange(inside: 0, outside: 1002, count: 1)] && root.uid == 0 && root.rootMapped)
    }

    @Test func aBuildStepIsRootOverTheRangesOfTheRunTimeMapping() {
        let root = IDMapping.forBuild(uid: 0, gid: 0, asRoot: false, subuids: range, subgids: range, helpersAvailable: true)
        #expect(root == IDMapping.forUser(uid: 0, gid: 0, asRoot: false, subuids: range, subgids: range, helpersAvailable: true))

        // keep-id: the ranges a normal run has, so root inside is the first subordinate id.
        let keepID = IDMapping.forBuild(uid: 1001, gid: 1001, asRoot: false, subuids: range, subgids: range, helpersAvailable: true)
        let run = IDMapping.forUser(uid: 1001, gid: 1001, asRoot: false, subuids: range, subgids: range, helpersAvailable: true)
        #expect(keepID.mode == .subordinate && keepID.uids == run.uids && keepID.gids == run.gids)
        #expect(keepID.uid == 0 && keepID.gid == 0 && keepID.rootMapped && keepID.setgroupsAllowed)
        #expect(keepID.uids.first == IDRange(inside: 0, outside: 200_000, count: 1001))

        // Layers laid out for --root: the user is root.
        let asRoot = IDMapping.forBuild(uid: 1001, gid: 1001, asRoot: true, subuids: range, subgids: range, helpersAvailable: true)
        #expect(asRoot == IDMapping.forUser(uid: 1001, gid: 1001, asRoot: true, subuids: range, subgids: range, helpersAvailable: true))
    }

    @Test func aSingleIdBuildStepIsTheUserAsRoot() {
        for layoutAsRoot in [false, true] {
            let mapping = IDMapping.forBuild(uid: 1002, gid: 1003, asRoot: layoutAsRoot, subuids: [], subgids: [], helpersAvailable: true)
            #expect(mapping.mode == .single)
            #expect(mapping.uids == [IDRange(inside: 0, outside: 1002, count: 1)])
            #expect(mapping.gids == [IDRange(inside: 0, outside: 1003, count: 1)])
            #expect(mapping.uid == 0 && mapping.gid == 0 && mapping.rootMapped && !mapping.setgroupsAllowed)
        }
    }

    /// No process has this id (pid_max is at most 2^22).
    static let noSuchProcess: Int32 = 2_147_483_632

    @Test func aMapThatCannotBeWrittenIsNamed() {
        let mapping = IDMapping.rootOver(uid: 100_000, gid: 100_000, count: 65536)
        #expect(mapping.uidMap == "0 100000 65536\n")
        do {
            try mapping.apply(to: Self.noSuchProcess)
            Issue.record("a map was written for a process that does not exist")
        } catch {
            #expect(error.message == "open /proc/\(Self.noSuchProcess)/uid_map: No such file or directory")
        }
    }

    @Test(.enabled(if: IDMapping.helpersAvailable)) func aFailedHelperIsQuotedWithWhatItSaid() {
        let mapping = IDMapping(mode: .subordinate, uids: [IDRange(inside: 0, outside: 1000, count: 1), IDRange(inside: 1, outside: 100_000, count: 999)],
                                gids: [IDRange(inside: 0, outside: 1000, count: 1)], uid: 0, gid: 0)
        do {
            try mapping.apply(to: Self.noSuchProcess)
            Issue.record("newuidmap succeeded for a process that does not exist")
        } catch {
            let command = IDMapping.helper("newuidmap") + " \(Self.noSuchProcess) 0 1000 1 1 100000 999 failed: "
            #expect(error.message.hasPrefix(command), "\(error.message)")
            #expect(error.message.count > command.count + 60, "newuidmap's own words are in it: \(error.message)")
            #expect(error.message.hasSuffix(" (check the user's lines in /etc/subuid and /etc/subgid)"))
        }
    }

    @Test func subordinateRangesAreFoundByNameOrId() {
        let file = """
            alice:100000:65536
            1001:300000:1000
            bob:200000:65536
            broken line
            carol:x:5

            """
        #expect(SubordinateRange.parse(file, name: "alice", id: 1001) == [
            SubordinateRange(start: 100_000, count: 65536), SubordinateRange(start: 300_000, count: 1000),
        ])
        #expect(SubordinateRange.parse(file, name: "carol", id: 1003).isEmpty)
    }
}
