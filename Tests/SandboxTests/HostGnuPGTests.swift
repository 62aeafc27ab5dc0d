import Foundation
import TestSupport
import Testing
@testable import Sandbox

#if canImport(Glibc)
import Glibc
#endif

/// The GnuPG agent is found where gpg itself looks (issue 16).
@Suite(.tags(.rootless)) struct HostGnuPGTests {
    /// Names gpgconf 2.2.40 printed (`GNUPGHOME=… gpgconf --list-dirs socketdir` with a private
    /// /run/user/0).
    @Test func aNonDefaultHomesSocketDirectoryIsNamedAsGnuPGNamesIt() {
        #expect(HostGnuPG.hashedName("/home/someone/keys") == "d.omhjx669c385d7f71gik3rra")
        #expect(HostGnuPG.hashedName("/tmp/gh-test") == "d.f8uep946pcybgjokq6eh8r4m")
    }

    @Test func onlyASocketOfTheCallersOwnIsTheAgent() throws {
        let scratch = try TemporaryDirectory("gnupg")
        let directory = scratch.path
        let environment = ["GNUPGHOME": directory]
        let socketPath = directory + "/S.gpg-agent.extra"

        // A regular file where the socket would be is not an agent.
        #expect(FileManager.default.createFile(atPath: socketPath, contents: Data()))
        #expect(HostGnuPG.of(home: "/nonexistent", uid: geteuid(), environment: environment) == nil)
        try FileManager.default.removeItem(atPath: socketPath)

        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        try #require(fd >= 0)
        defer { close(fd) }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { buffer in
            for (index, byte) in socketPath.utf8.enumerated() { buffer[index] = byte }
        }
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        try #require(bound == 0)
        #expect(FileManager.default.createFile(atPath: directory + "/pubring.kbx", contents: Data("keys".utf8)))
        let found = try #require(HostGnuPG.of(home: "/nonexistent", uid: geteuid(), environment: environment))
        #expect(found.socket == socketPath)
        #expect(found.publicFiles == [directory + "/pubring.kbx"])
        #expect(HostGnuPG.of(home: "/nonexistent", uid: geteuid() + 1, environment: environment) == nil, "another user's socket")
        #expect(HostGnuPG.candidates(home: "/nonexistent", uid: geteuid(), environment: environment).last == socketPath)
    }
}
