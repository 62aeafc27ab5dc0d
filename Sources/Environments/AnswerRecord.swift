import Foundation
import ImageStore
import Manifest
import Sandbox

#if canImport(Glibc)
import Glibc
#endif

/// What `build` and `status` leave for the launcher when the project is up to date: their output,
/// valid while nothing it was computed from changed, so the next `devenv build` or `devenv
/// status` answers in C without starting devenv-core (CLaunch/claunch.h, `claunch_answer_write`).
public struct AnswerRecord {
    /// "build" or "status".
    public let verb: String
    public let locked: Bool
    public let json: Bool
    public let quiet: Bool

    public init(verb: String, locked: Bool, json: Bool, quiet: Bool) {
        self.verb = verb
        self.locked = locked
        self.json = json
        self.quiet = quiet
    }


    /// Writes the answer when the launcher asked for a record of exactly this invocation.
    /// `started`: taken before any input was read. A record is only a cache: failing to write one
    /// costs the next call a full start, so errors are dropped.
    public func write(project: Project, store: StoreLocation, manifest: Manifest, layers: [String], started: timespec,
               standardOutput: String, standardError: String) {
        guard let requested = LaunchRecord.requested(environment: ProcessInfo.processInfo.environment),
              requested.key == LaunchRecord.answerKey(verb: verb, store: store.root, project: project.directory,
                                                      locked: locked, json: json, quiet: quiet),
              let corePath = try? HelperCommand.executable() else { return }
        var record = LaunchRecord(path: requested.path, key: requested.key, corePath: corePath, projectDirectory: project.directory,
                                  mountPoint: project.directory, notAfter: started)
        record.variables = ["HOME"]
        record.checks = [.content(corePath), .content(project.manifestPath), .content(project.lockPath),
                         .content(ProjectTrust.approvalPath(project: project, store: store)),
                         // The environment's image tag, which an up-to-date build also requires.
                         .content(store.oci + "/index.json")]
            + manifest.inputFiles.map { .content(project.directory + "/" + $0.path) }
            + layers.map { .identity(store.layers + "/" + $0) }
            // The home `~` expands to, and the id mapping, which the layers' keys depend on.
            + ["/etc/passwd", "/etc/subuid", "/etc/subgid", IDMapping.helper("newuidmap"), IDMapping.helper("newgidmap")].map { .content($0) }
        _ = try? record.writeAnswer(standardOutput: standardOutput, standardError: standardError, status: 0)
    }
}
