import Build
import Foundation
import Manifest
import OCI
import Testing
@testable import Environments

/// What a build says when `[share] image` lacks a step, and where a pulled layer is kept.
@Suite struct SharedCacheTests {
    static let digest = Digest(hashing: Data("layer".utf8))

    func step(title: String = "apt", parent: String = "c0ffee", entries: [String] = ["curl=7.88.1-10", "jq=1.6-2.1"],
              files: [Manifest.InputFile] = [], command: String = "install") -> BuildStep {
        let key = CacheKey(parent: parent, step: title, inputs: [command] + entries + files.map { $0.path + $0.digest }).description
        return BuildStep(kind: .apt, key: key, title: title, summary: "", command: [command], environment: [], files: files,
                         parent: parent, entries: entries)
    }

    /// The registry's environment, holding `steps` as they were built.
    func remote(_ steps: [BuildStep]) -> SharedCache.Remote {
        var layers: [String: (descriptor: Descriptor, diffID: Digest)] = [:]
        var annotations: [String: [String: String]] = [:]
        for step in steps {
            let stepAnnotations = SharedCache.annotations(for: step, directory: step.key)
            layers[step.key] = (Descriptor(mediaType: MediaType.ociLayerGzip, digest: Self.digest, size: 5, annotations: stepAnnotations), Self.digest)
            annotations[step.title] = stepAnnotations
        }
        return SharedCache.Remote(tag: "latest", layers: layers, steps: annotations)
    }

    @Test func aMissNamesTheInputThatDiffers() {
        let theirs = step()
        let registry = remote([theirs, step(title: "setup tools", parent: theirs.key, entries: [],
                                            files: [Manifest.InputFile(path: "tools.sh", digest: "aa")])])
        #expect(registry.layers[step().key] != nil, "the same step is found by its key")
        #expect(SharedCache.miss(step(parent: "other-base"), overBase: true, remote: registry) == "the base differs from the registry's")
        #expect(SharedCache.miss(step(entries: ["curl=7.88.1-9", "jq=1.6-2.1", "vim=2:9.0"]), overBase: true, remote: registry)
                == "lock entries differ from the registry's: curl 7.88.1-10 → 7.88.1-9, +vim 2:9.0")
        #expect(SharedCache.miss(step(entries: ["curl=7.88.1-10"]), overBase: true, remote: registry) == "lock entries differ from the registry's: -jq 1.6-2.1")
        #expect(SharedCache.miss(step(command: "install --other"), overBase: true, remote: registry) == "its command or environment differs from the registry's")
        #expect(SharedCache.miss(step(title: "setup tools", parent: theirs.key, entries: [], files: [Manifest.InputFile(path: "tools.sh", digest: "bb")]),
                                 overBase: false, remote: registry) == "tools.sh differs from the registry's")
        #expect(SharedCache.miss(step(title: "setup tools", parent: "build-other", entries: []), overBase: false, remote: registry) == "a layer below differs from the registry's")
        #expect(SharedCache.miss(step(title: "pip"), overBase: true, remote: registry) == "the registry's environment has no pip step")
    }

    /// The registry's annotations reach the terminal: a terminal escape in them is shown, not sent.
    @Test func theRegistrysWordsAreEscaped() {
        let registry = remote([step(entries: ["curl=1\u{1b}]0;owned\u{07}"])])
        let said = SharedCache.miss(step(entries: ["curl=2"]), overBase: true, remote: registry)
        #expect(!said.unicodeScalars.contains { $0.value < 0x20 }, "\(said.debugDescription)")
        #expect(said.hasPrefix("lock entries differ from the registry's: curl 1"), "\(said)")
    }

    @Test func longListsOfChangesAreCut() {
        let ours = (1...6).map { "p\($0)=2" }
        let theirs = (1...6).map { "p\($0)=1" }
        #expect(SharedCache.entryChanges(ours: ours, theirs: theirs).count == 6)
        let registry = remote([step(entries: theirs)])
        #expect(SharedCache.miss(step(entries: ours), overBase: true, remote: registry)
                == "lock entries differ from the registry's: p1 1 → 2, p2 1 → 2, p3 1 → 2 and 3 more")
        #expect(SharedCache.entryChanges(ours: ["six==1.16.0"], theirs: ["six==1.15.0"]) == ["six 1.15.0 → 1.16.0"])
    }

    /// A pulled layer's directory is named by the step and the repository it came from: another
    /// registry, or a project building the step itself, never finds it.
    @Test func aPulledDirectoryBelongsToItsRepository() throws {
        let apt = step()
        let team = try Reference(parsing: "registry.example.com/team/app")
        let other = try Reference(parsing: "registry.example.com/evil/app")
        let directory = SharedCache.directory(forKey: apt.key, source: team)
        #expect(directory != apt.key)
        #expect(directory != SharedCache.directory(forKey: apt.key, source: other))
        #expect(directory == SharedCache.directory(forKey: apt.key, source: try Reference(parsing: "registry.example.com/team/app:v2")), "a tag is not the source")
        #expect(directory.hasPrefix("build-") && directory.count == apt.key.count, "a pulled directory has a build key's shape")
        let annotations = SharedCache.annotations(for: apt, directory: directory)
        #expect(annotations[SharedCache.stepKeyAnnotation] == apt.key)
        #expect(annotations[SharedCache.entriesAnnotation] == "curl=7.88.1-10 jq=1.6-2.1")
        #expect(SharedCache.annotations(for: apt, directory: apt.key)[SharedCache.stepKeyAnnotation] == nil)
    }
}
