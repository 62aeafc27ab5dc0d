import Build
import Foundation
import ImageStore
import Manifest
import Sandbox

/// `devenv status`: the project's manifest, trust, lock, base and layers as they are, read from
/// local files and the store only, and what to run next.
public struct StatusReport: Encodable {
    public struct LockState: Encodable {
        public var path: String
        /// "fresh", "stale" or "missing".
        public var state: String
        public var differences: [String]
    }
    public struct BaseState: Encodable {
        public var image: String?
        public var bootstrap: String?
        public var digest: String?
        /// "unpacked", "missing" or "unknown" (no lock).
        public var state: String
    }
    public struct LayerState: Encodable {
        public var step: String
        public var contents: String
        public var key: String
        /// "built" or "missing".
        public var state: String
    }
    public var project: String
    public var name: String
    public var manifest: String
    public var manifestError: String?
    /// Whether what the manifest reaches outside the repository is approved (`devenv trust`).
    public var trust: ProjectTrust.State?
    public var lock: LockState?
    public var base: BaseState?
    public var layers: [LayerState]
    public var ready: Bool
    public var next: String?

    /// The report, with what it was made from: the manifest when it is valid, and every layer
    /// directory of the environment when its base is in the store.
    public static func make(project: Project, store: StoreLocation) throws -> (report: StatusReport, manifest: Manifest?, layers: [String]) {
        var manifest: Manifest?
        var layers: [String] = []
        let report = try make(project: project, store: store, manifest: &manifest, layers: &layers)
        return (report, manifest, layers)
    }

    private static func make(project: Project, store: StoreLocation, manifest loaded: inout Manifest?, layers: inout [String]) throws -> StatusReport {
        var report = StatusReport(project: project.directory, name: project.environmentName(nil), manifest: project.manifestPath,
                            layers: [], ready: false)
        let manifest: Manifest
        do { manifest = try project.manifest(home: HostUser.current().home) } catch let error as DevenvError {
            report.manifestError = error.description
            report.next = FileManager.default.fileExists(atPath: project.manifestPath) ? "fix the manifest" : "devenv init"
            return report
        }
        loaded = manifest
        report.name = project.environmentName(manifest)
        let trust = try ProjectTrust(project: project, manifest: manifest, store: store).state
        report.trust = trust
        guard let lock = try? project.lock() else {
            let exists = FileManager.default.fileExists(atPath: project.lockPath)
            report.lock = StatusReport.LockState(path: project.lockPath, state: exists ? "unreadable" : "missing", differences: [])
            report.next = exists ? "devenv lock --update" : "devenv lock"
            return report
        }
        let differences = lock.differences(from: manifest)
        report.lock = StatusReport.LockState(path: project.lockPath, state: differences.isEmpty ? "fresh" : "stale", differences: differences)
        let layout = LayerLayout.forInvoker(asRoot: false)
        let share = EnvironmentBuilder.share(manifest)
        let image = try EnvironmentBuilder.localBase(lock.base, share: share, store: store, layout: layout)
        report.base = StatusReport.BaseState(image: lock.base.image, bootstrap: lock.base.bootstrap, digest: lock.base.digest,
                                       state: image == nil ? "missing" : "unpacked")
        var built = false
        if let image {
            let plan = EnvironmentBuilder.plan(manifest, lock: lock, base: image, layout: layout)
            let directories = EnvironmentBuilder.stepDirectories(plan, share: share, store: store)
            layers = plan.baseLayers + zip(plan.steps, directories).map { $1 ?? $0.key }
            report.layers = zip(plan.steps, directories).map { step, directory in
                StatusReport.LayerState(step: step.title, contents: step.summary, key: step.key,
                                        state: directory == nil ? "missing" : directory == step.key ? "built" : "pulled")
            }
            let imageName = EnvironmentImage.name(environmentDirectory: project.environmentDirectory(manifest, store: store), layout: layout)
            built = try EnvironmentBuilder.isBuilt(directories, imageName: imageName, store: store)
        }
        report.ready = differences.isEmpty && built
            && (trust == .notNeeded || trust == .approved)
        if trust == .notApproved || trust == .changed {
            report.next = "devenv trust (after reading the manifest)"
        } else if !differences.isEmpty {
            report.next = "devenv lock"
        } else if !report.ready {
            report.next = "devenv build"
        }
        return report
    }
}
