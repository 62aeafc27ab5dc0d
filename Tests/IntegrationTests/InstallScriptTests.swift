import Foundation
import TestSupport
import Testing

/// The package detection scripts/devenv and scripts/test install with, run under the scripts' own
/// `set -euo pipefail`. Once, dpkg-query's exit status for an unknown package ended the detection
/// before it printed anything, so nothing was ever installed on a new machine and the scripts went
/// on as if everything were there. The whole install path on a pristine Debian 12 is proven by
/// `scripts/test --fresh-root` (what CI runs); these pin the function it rests on.
@Suite struct InstallScriptTests {
    static var common: String { InitTests.sourceRoot + "/scripts/lib/common.sh" }
    /// A name no Debian release has (package names are lowercase; this one also has a random tail).
    static let absent = "devenv-absent-" + UUID().uuidString.lowercased().prefix(8)

    /// `bash` with the scripts' options, sourcing common.sh, then SCRIPT.
    func bash(_ script: String, path: String? = nil) throws -> Shell.Result {
        var environment: [String: String] = [:]
        if let path { environment["PATH"] = path }
        return try Shell.run("/bin/bash", ["-c", "set -euo pipefail; source \"$0\"; " + script, Self.common], environment: environment)
    }

    @Test func missingPackagesNamesExactlyThePackagesDpkgDoesNotHave() throws {
        let result = try bash("missing_packages bash \(Self.absent) dpkg \(Self.absent)-two coreutils; echo \"status $?\"")
        #expect(result.stdout == "\(Self.absent)\n\(Self.absent)-two\nstatus 0\n", "\(result.output)")
    }

    @Test func missingPackagesIsSilentWhenEverythingIsInstalled() throws {
        let result = try bash("missing_packages bash dpkg coreutils; echo \"status $?\"")
        #expect(result.stdout == "status 0\n", "\(result.output)")
    }

    /// The caller's pattern that hid the bug: the names read back through a substitution in a
    /// function, under errexit.
    @Test func theNamesSurviveTheCallersSubstitution() throws {
        let result = try bash("f() { local m; mapfile -t m < <(missing_packages \(Self.absent) bash); echo \"${#m[@]} ${m[*]}\"; }; f")
        #expect(result.stdout == "1 \(Self.absent)\n", "\(result.output)")
    }

    /// An apt-get that reports success without installing (a held package, a wrong mirror) must
    /// not pass for an install: ensure_packages asks dpkg again and stops with the names.
    @Test func ensurePackagesStopsWhenAptDidNotInstallWhatItWasAsked() throws {
        let bin = try TemporaryDirectory("fake-apt")
        let log = bin.path + "/calls"
        try "#!/bin/sh\necho \"$*\" >> \(log)\nexit 0\n".write(toFile: bin.path + "/apt-get", atomically: true, encoding: .utf8)
        chmod(bin.path + "/apt-get", 0o755)
        let result = try bash("ensure_packages bash \(Self.absent); echo reached", path: bin.path + ":/usr/sbin:/usr/bin:/sbin:/bin")
        #expect(result.status == 1, "\(result.output)")
        #expect(!result.stdout.contains("reached"), "\(result.output)")
        #expect(result.stderr.contains("still not installed after apt-get install: \(Self.absent)"), "\(result.stderr)")
        let calls = try String(contentsOfFile: log, encoding: .utf8)
        #expect(calls.contains("install -y -qq \(Self.absent)\n"), "apt-get was asked for exactly the missing package: \(calls)")
        #expect(!calls.contains(" bash"), "\(calls)")
    }

    @Test func ensurePackagesRunsNoAptWhenNothingIsMissing() throws {
        let bin = try TemporaryDirectory("fake-apt")
        try "#!/bin/sh\necho apt-get was called >&2\nexit 1\n".write(toFile: bin.path + "/apt-get", atomically: true, encoding: .utf8)
        chmod(bin.path + "/apt-get", 0o755)
        let result = try bash("ensure_packages bash dpkg; echo reached", path: bin.path + ":/usr/sbin:/usr/bin:/sbin:/bin")
        #expect(result.status == 0, "\(result.output)")
        #expect(result.stdout == "reached\n", "\(result.output)")
    }
}
