import Build
import Foundation
import ImageStore
import Manifest
import OCI
import Sandbox

/// Resolves a manifest into a lock (`devenv lock`): the base reference to a digest, the apt
/// requests to the exact versions of the whole closure apt would install in the base (asking
/// apt inside it, against the mirror the base names), the pip requirements to exact versions
/// with hashes (asking pip inside the environment with the apt layer, so it resolves for that
/// Python). Parts still fresh in `previous` are kept, unless `update`.
public struct LockResolver {
    public let store: StoreLocation
    public let layout: LayerLayout
    public let output: BuildProgress

    public init(store: StoreLocation, layout: LayerLayout, output: BuildProgress) {
        self.store = store
        self.layout = layout
        self.output = output
    }

    public func resolve(_ manifest: Manifest, previous: Lock?, update: Bool) async throws -> Lock {
        let fresh = update ? Lock.Freshness(base: false, apt: false, pip: false) : previous?.freshness(for: manifest)
            ?? Lock.Freshness(base: false, apt: false, pip: false)
        let base = try await resolveBase(manifest, previous: fresh.base ? previous?.base : nil)
        let (image, _) = try await EnvironmentBuilder.baseImage(base, store: store, layout: layout, output: output)
        let executor = StepExecutor(store: store, layout: layout, output: output, imageEnvironment: image.config.config?.Env ?? [])

        var lock = Lock(base: base)
        if fresh.apt, let previous {
            lock.apt = previous.apt
        } else if !manifest.aptRequests.isEmpty {
            lock.apt = try resolveApt(manifest.aptRequests, over: image.layers, executor: executor)
        }
        if fresh.apt, fresh.pip, let previous {
            lock.pip = previous.pip
        } else if !manifest.packages.pip.isEmpty {
            // pip resolves for the environment's Python: the apt layer must exist first.
            var lowers = image.layers
            let plan = EnvironmentBuilder.plan(manifest, lock: lock, base: image, layout: layout)
            if let apt = plan.steps.first(where: { $0.kind == .apt }) {
                let start = ContinuousClock.now
                let built = try await executor.build(apt, lowers: lowers)
                output.layer(apt.title, apt.summary, built != nil ? .built(ContinuousClock.now - start) : .cached)
                lowers.append(apt.key)
            }
            lock.pip = try resolvePip(manifest.packages.pip, over: lowers, executor: executor)
        }
        return lock
    }

    private func resolveBase(_ manifest: Manifest, previous: Lock.Base?) async throws -> Lock.Base {
        if let previous { return previous }
        switch manifest.base {
        case .image(let name):
            let ref = try Reference(parsing: name)
            output.heading("Resolving [base] image \(name)")
            let pulled = try await ImagePull(store: store, layout: layout, onEvent: output.pull).run(ref)
            let platform = pulled.manifestDescriptor.platform?.description
                ?? Platform(os: pulled.config.os ?? "linux", architecture: pulled.config.architecture ?? "amd64").description
            return Lock.Base(image: name, digest: pulled.resolvedDigest.description, platform: platform)
        case .bootstrap(let suite, let mirror):
            return Lock.Base(bootstrap: suite, mirror: mirror)
        }
    }

    private func resolveApt(_ requests: [String], over lowers: [String], executor: StepExecutor) throws -> Lock.Apt {
        output.heading("Resolving [packages] apt: \(requests.joined(separator: " "))")
        let script = StepScripts.resolveApt(requests: requests, singleID: executor.singleID)
        let result = try executor.probe(command: script.command, environment: script.environment, lowers: lowers, onLine: output.resolveLine)
        let text = String(decoding: result.output, as: UTF8.self)
        guard result.status == 0 else {
            let errors = AptSimulation.errors(fromOutput: (result.lastLines + [text]).joined(separator: "\n"))
            let detail = errors.isEmpty ? result.lastLines.suffix(10).joined(separator: "\n    ") : errors.joined(separator: "\n    ")
            throw DevenvError.user("""
                apt cannot resolve [packages] apt = \(requests) in the base image:
                    \(detail)
                  fix: check the names and versions (apt-cache policy NAME in `devenv run --image BASE`, or packages.debian.org for the base's suite)
                """)
        }
        return Lock.Apt(requested: requests, packages: AptSimulation.packages(fromOutput: text))
    }

    private func resolvePip(_ requirements: [String], over lowers: [String], executor: StepExecutor) throws -> Lock.Pip {
        output.heading("Resolving [packages] pip: \(requirements.joined(separator: " "))")
        let script = StepScripts.resolvePip(requirements: requirements)
        let result = try executor.probe(command: script.command, environment: script.environment, lowers: lowers, onLine: output.resolveLine)
        guard result.status == 0 else {
            let detail = result.lastLines.suffix(12).joined(separator: "\n    ")
            throw DevenvError.user("""
                pip cannot resolve [packages] pip = \(requirements):
                    \(detail)
                  fix: check the requirement names and versions on https://pypi.org
                """)
        }
        do {
            let report = try PipReport.parse(result.output)
            return Lock.Pip(requested: requirements, python: report.python, distributions: report.distributions)
        } catch {
            throw DevenvError.user("cannot lock [packages] pip: \(error.description)")
        }
    }
}
