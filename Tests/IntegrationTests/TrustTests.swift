import Foundation
import TestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// `devenv trust`: a manifest that mounts host paths or turns the system call filter off runs only
/// after the user approved exactly that on this machine. Until then run, enter and build refuse,
/// name each request and the command that approves it, and build or change nothing; a fast start
/// never runs what was revoked; `clone` shows what a stranger's manifest asks for before building.
@Suite(.buildScope, .tags(.rootless)) struct TrustTests {
    /// Host directories the manifests mount.
    let shared: TemporaryDirectory
    let other: TemporaryDirectory

    init() throws {
        shared = try TemporaryDirectory("trust-shared")
        other = try TemporaryDirectory("trust-other")
    }

    static func manifest(_ extra: String) throws -> String {
        """
        name = "trusting"

        [base]
        image = "\(try BuildProject.base())"

        \(extra)
        """
    }

    static func mounting(_ path: String, _ extra: String = "") throws -> String {
        try manifest("\(extra)\n[mounts]\n\"\(path)\" = \"rw\"\n")
    }

    static func physical(_ path: String) -> String {
        URL(fileURLWithPath: path).resolvingSymlinksInPath().path
    }

    /// `devenv trust --json`, decoded, and its exit status.
    static func report(_ project: BuildProject) throws -> (status: Int32, json: [String: Any]) {
        let result = try project.devenv("trust", ["--json"])
        let json = try #require(JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any], "trust --json: \(result.output)")
        return (result.status, json)
    }

    static func expectRefused(_ result: Shell.Result, _ project: BuildProject, lines: [String],
                              sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(result.status == 1, "\(result.output)", sourceLocation: sourceLocation)
        let manifest = physical(project.manifestPath)
        #expect(result.stderr.contains("devenv: error: \(manifest) asks for what needs your approval on this machine:\n"),
                "\(result.stderr)", sourceLocation: sourceLocation)
        for line in lines {
            #expect(result.stderr.contains("\n  \(manifest):\(line)\n"), "\(line) missing: \(result.stderr)", sourceLocation: sourceLocation)
        }
        let command = "devenv trust -C \(physical(project.path)) --store \(project.store)"
        #expect(result.stderr.contains("Read the manifest, then run `\(command)` to approve (`\(command) --revoke` takes it back)."),
                "\(result.stderr)", sourceLocation: sourceLocation)
    }

    @Test func aManifestThatMountsTheHomeIsRefusedByRunEnterAndBuildAndNothingIsBuilt() throws {
        let temp = try TemporaryDirectory("trust-store")
        let store = temp.path + "/store"
        let home = String(cString: getpwuid(getuid()).pointee.pw_dir)
        let marker = "devenv-trust-test-\(UUID().uuidString)"
        // If a refusal ever fails, the marker must not stay in the user's home.
        defer { unlink(home + "/" + marker) }
        let project = try BuildProject(try Self.manifest("[mounts]\n\"~\" = \"rw\"\n"), store: store)
        let line = "7: [mounts] \"~\" = \"rw\": host path \(home), read-write"

        Self.expectRefused(try project.devenv("run", ["--", "sh", "-c", "touch ~/\(marker)"]), project, lines: [line])
        Self.expectRefused(try Shell.run(try TestEnvironment.binary(), ["enter", "-C", project.path, "--store", store], stdin: "touch ~/\(marker)\n"),
                           project, lines: [line])
        Self.expectRefused(try project.devenv("build"), project, lines: [line])

        #expect(!FileManager.default.fileExists(atPath: home + "/" + marker), "a refused manifest ran")
        #expect(!FileManager.default.fileExists(atPath: project.lockPath), "a refused manifest was locked")
        for directory in ["layers", "oci/blobs", "trust"] {
            let entries = (try? FileManager.default.contentsOfDirectory(atPath: store + "/" + directory)) ?? []
            #expect(entries.filter { $0 != ".sandbox" }.isEmpty, "\(directory): \(entries)")
        }
        #expect(((try? FileManager.default.contentsOfDirectory(atPath: store + "/envs")) ?? []).isEmpty)

        let approved = try project.devenv("trust")
        #expect(approved.status == 0, "\(approved.output)")
        #expect(approved.stdout.contains("Approved for \(Self.physical(project.path)) on this machine:\n  \(Self.physical(project.manifestPath)):\(line)\n"),
                "\(approved.stdout)")
        let built = try project.devenv("build", ["-q"])
        #expect(built.status == 0, "\(built.output)")
    }

    @Test func anApprovedMountWorksAndOnlyAChangeOfWhatIsAskedForAsksAgain() throws {
        let project = try BuildProject(try Self.mounting(shared.path), store: try BuildScope.current())
        let trusted = try project.devenv("trust", ["-q"])
        #expect(trusted.status == 0 && trusted.output.isEmpty, "\(trusted.output)")
        let ran = try project.sh("echo written > \(shared.path)/marker")
        #expect(ran.status == 0, "\(ran.output)")
        #expect(try String(contentsOfFile: shared.path + "/marker", encoding: .utf8) == "written\n")

        // [env], the name, comments and the order of lines are not what was approved.
        try project.write(try Self.mounting(shared.path, "# moved down\n\n[env]\nADDED = \"yes\"\n").replacingOccurrences(of: "trusting", with: "renamed"))
        let edited = try project.sh("echo $ADDED > \(shared.path)/marker")
        #expect(edited.status == 0, "\(edited.output)")
        #expect(try String(contentsOfFile: shared.path + "/marker", encoding: .utf8) == "yes\n")

        // Another host path is something else to approve.
        try project.write(try Self.mounting(other.path))
        let changed = try project.sh("echo changed > \(other.path)/marker")
        #expect(changed.status == 1, "\(changed.output)")
        let manifest = Self.physical(project.manifestPath)
        #expect(changed.stderr.contains("""
            devenv: error: \(manifest) changed since you approved it on this machine; it now asks for:
              \(manifest):8: [mounts] "\(other.path)" = "rw": host path \(other.path), read-write (new)
              no longer asked for: mount read-write "\(shared.path)"
            Read the manifest, then run `devenv trust -C
            """), "\(changed.stderr)")
        #expect(!FileManager.default.fileExists(atPath: other.path + "/marker"))
        // So is the same path read-only instead of read-write.
        try project.write(try Self.mounting(shared.path).replacingOccurrences(of: "\"rw\"", with: "\"ro\""))
        #expect(try project.sh("true").stderr.contains("changed since you approved it"))

        #expect(try project.devenv("trust", ["-q"]).status == 0)
        let readOnly = try project.sh("echo x > \(shared.path)/marker")
        #expect(readOnly.status != 0 && readOnly.stderr.contains("Read-only file system"), "\(readOnly.output)")
    }

    @Test func revokeRefusesAgainWhereAFastStartWouldHaveRun() throws {
        let project = try BuildProject(try Self.mounting(shared.path), store: try BuildScope.current())
        #expect(try project.devenv("trust", ["-q"]).status == 0)
        let script = "echo ran >> \(shared.path)/runs"
        func start() throws -> Shell.Result {
            try Shell.run(try TestEnvironment.binary(), ["run", "-C", project.path, "--store", project.store, "-q", "--", "sh", "-c", script],
                          environment: ["DEVENV_TRACE_START": "1"])
        }
        // The first run writes the lock (no record), a later one leaves the record, the next is fast.
        var fast: Shell.Result?
        for _ in 0..<4 {
            let result = try start()
            try #require(result.status == 0, "\(result.output)")
            if result.stderr.hasPrefix("devenv: fast start from ") {
                fast = result
                break
            }
        }
        try #require(fast != nil, "no fast start after four runs")
        let runs = try String(contentsOfFile: shared.path + "/runs", encoding: .utf8)

        let revoked = try project.devenv("trust", ["--revoke"])
        #expect(revoked.status == 0, "\(revoked.output)")
        #expect(revoked.stdout.contains("Revoked the approval for \(Self.physical(project.path))"), "\(revoked.stdout)")
        let refused = try start()
        #expect(refused.stderr.hasPrefix("devenv: full start: "), "the launcher ran a revoked manifest's record: \(refused.output)")
        Self.expectRefused(refused, project, lines: ["8: [mounts] \"\(shared.path)\" = \"rw\": host path \(shared.path), read-write"])
        #expect(try String(contentsOfFile: shared.path + "/runs", encoding: .utf8) == runs, "a refused start ran")
        // Refused again, not once: the refusal leaves no record to start from.
        #expect(try start().status == 1)
        #expect(try project.devenv("trust", ["--revoke"]).stdout.contains("Nothing was approved for"))
    }

    @Test func anUnconfinedFilterNeedsApproval() throws {
        let project = try BuildProject(try Self.manifest("[security]\nseccomp = \"unconfined\"\n"), store: try BuildScope.current())
        Self.expectRefused(try project.sh("true"), project,
                           lines: ["7: [security] seccomp = \"unconfined\": no system call filter (code inside can make every system call the kernel has)"])
        #expect(try project.devenv("trust", ["-q"]).status == 0)
        let result = try project.sh("grep Seccomp: /proc/self/status")
        #expect(result.status == 0, "\(result.output)")
        #expect(result.stdout == "Seccomp:\t0\n")
    }

    @Test func aManifestWithoutRequestsRunsWithoutATrustStep() throws {
        let project = try BuildProject(try Self.manifest("[env]\nGREETING = \"hi\"\n[network]\nmode = \"none\"\n"), store: try BuildScope.current())
        let result = try project.sh("echo $GREETING")
        #expect(result.status == 0 && result.stdout == "hi\n", "\(result.output)")
        let trust = try project.devenv("trust")
        #expect(trust.status == 0)
        #expect(trust.stdout.hasPrefix("Approved for \(Self.physical(project.path)) on this machine: \(Self.physical(project.manifestPath)) asks for nothing outside the repository, and your ssh agent is forwarded"), "\(trust.output)")
        let (status, json) = try Self.report(project)
        #expect(status == 0)
        #expect(json["state"] as? String == "not-needed")
        #expect((json["requests"] as? [Any])?.isEmpty == true)
    }

    @Test func trustJSONReportsTheStateAndTheApprovalIsPrivate() throws {
        let project = try BuildProject(try Self.mounting(shared.path), store: try BuildScope.current())
        let (unapprovedStatus, unapproved) = try Self.report(project)
        #expect(unapprovedStatus == 1)
        #expect(unapproved["state"] as? String == "not-approved")
        #expect(unapproved["project"] as? String == Self.physical(project.path))
        let requests = try #require(unapproved["requests"] as? [[String: Any]])
        #expect(requests.count == 1)
        #expect(requests.first?["setting"] as? String == "[mounts] \"\(shared.path)\" = \"rw\"")
        #expect(requests.first?["meaning"] as? String == "host path \(shared.path), read-write")
        #expect(requests.first?["canonical"] as? String == "mount read-write \"\(shared.path)\"")
        #expect(requests.first?["line"] as? Int == 8)
        #expect(requests.first?["new"] as? Bool == true)

        #expect(try project.devenv("trust", ["-q"]).status == 0)
        let (approvedStatus, approved) = try Self.report(project)
        #expect(approvedStatus == 0)
        #expect(approved["state"] as? String == "approved")
        #expect(approved["approvedDigest"] as? String == approved["digest"] as? String)
        let path = try #require(approved["approval"] as? String)
        var file = stat(), directory = stat()
        #expect(lstat(path, &file) == 0 && lstat((path as NSString).deletingLastPathComponent, &directory) == 0)
        #expect(file.st_mode & 0o777 == 0o600 && file.st_uid == getuid(), "approval mode \(String(file.st_mode & 0o777, radix: 8))")
        #expect(directory.st_mode & 0o777 == 0o700, "trust/ mode \(String(directory.st_mode & 0o777, radix: 8))")

        try project.write(try Self.mounting(shared.path, "[security]\nseccomp = \"unconfined\"\n"))
        let (changedStatus, changed) = try Self.report(project)
        #expect(changedStatus == 1)
        #expect(changed["state"] as? String == "changed")
        #expect((changed["requests"] as? [[String: Any]])?.map { $0["new"] as? Bool } == [false, true])
        let shown = try project.devenv("trust", ["--show"])
        #expect(shown.status == 1)
        #expect(shown.stdout.contains("[security] seccomp = \"unconfined\": no system call filter") && shown.stdout.contains("(new)"), "\(shown.stdout)")
    }

    @Test func gcForgetsTheApprovalsOfProjectsThatAreGone() throws {
        let temp = try TemporaryDirectory("trust-gc")
        let store = temp.path + "/store"
        let kept = try BuildProject(try Self.mounting(shared.path), store: store)
        let gone = try BuildProject(try Self.mounting(other.path), store: store)
        #expect(try kept.devenv("trust", ["-q"]).status == 0)
        #expect(try gone.devenv("trust", ["-q"]).status == 0)
        let keptApproval = try #require(try Self.report(kept).json["approval"] as? String)
        let goneApproval = try #require(try Self.report(gone).json["approval"] as? String)
        let goneProject = Self.physical(gone.path)
        try FileManager.default.removeItem(atPath: gone.path)

        let dry = try Shell.run(try TestEnvironment.binary(), ["gc", "--dry-run", "--store", store])
        #expect(dry.status == 0 && dry.output.contains("Would remove the approval of \(goneProject): its project is gone"), "\(dry.output)")
        #expect(FileManager.default.fileExists(atPath: goneApproval), "--dry-run removed an approval")
        let result = try Shell.run(try TestEnvironment.binary(), ["gc", "--store", store])
        #expect(result.status == 0 && result.output.contains("Removed the approval of \(goneProject): its project is gone"), "\(result.output)")
        #expect(!FileManager.default.fileExists(atPath: goneApproval))
        #expect(FileManager.default.fileExists(atPath: keptApproval), "gc removed the approval of a project that is there")
        #expect(try Self.report(kept).json["state"] as? String == "approved")
    }

    @Test func cloneShowsWhatTheManifestAsksForAndBuildsNothing() throws {
        let temp = try TemporaryDirectory("trust-clone")
        let source = temp.path + "/source"
        try FileManager.default.createDirectory(atPath: source + "/.devenv", withIntermediateDirectories: true)
        try Self.mounting("~/.ssh").write(toFile: source + "/.devenv/devenv.toml", atomically: true, encoding: .utf8)
        for arguments in [["init", "-q", "-b", "main", source], ["-C", source, "add", "."],
                          ["-C", source, "-c", "user.name=t", "-c", "user.email=t@e", "commit", "-q", "-m", "init"]] {
            let result = try Shell.run("git", arguments)
            try #require(result.status == 0, "git \(arguments.joined(separator: " ")): \(result.output)")
        }
        let store = try BuildScope.current()
        let result = try Shell.run("/usr/bin/env", ["-C", temp.path, try TestEnvironment.binary(), "clone", source, "webapp", "--enter", "--store", store],
                                   stdin: "echo entered\n")
        #expect(result.status == 1, "\(result.output)")
        let clone = Self.physical(temp.path + "/webapp")
        let home = String(cString: getpwuid(getuid()).pointee.pw_dir)
        #expect(result.stderr.contains("""
            devenv: cloned into webapp; its manifest asks for what needs your approval on this machine, so nothing was built:
              \(clone)/.devenv/devenv.toml:8: [mounts] "~/.ssh" = "rw": host path \(home)/.ssh, read-write
            Read webapp/.devenv/devenv.toml, then: cd webapp && devenv trust --store \(store) && devenv enter --store \(store)
            """), "\(result.stderr)")
        #expect(!result.stdout.contains("entered"))
        #expect(FileManager.default.fileExists(atPath: clone + "/.devenv/devenv.toml"), "the clone did not stay")
        #expect(!FileManager.default.fileExists(atPath: clone + "/.devenv/devenv.lock"), "the clone was built")
    }
}
