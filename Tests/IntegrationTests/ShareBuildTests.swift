import Foundation
import TestSupport
import Testing

/// Issue 14: `build` takes the steps `[share] image` has from the registry (a real
/// docker-registry on 127.0.0.1) instead of building them, verified like any layer; it builds
/// from the first step the registry lacks and says which input differs; a registry that cannot
/// be reached means a local build and one line.
@Suite(.buildScope, .serialized, .tags(.rootless)) struct ShareBuildTests {
    /// A project sharing through its own repository on the test registry, pushed from the
    /// suite's store.
    func pushedProject(_ manifest: String? = nil) throws -> (BuildProject, repository: String) {
        let repository = "\(try TestEnvironment.registry())/shared/team-\(UUID().uuidString.prefix(8).lowercased())"
        let project = try BuildProject((try manifest ?? BuildProject.standardManifest(name: "shared")) + """


            [share]
            image = "\(repository)"
            """, store: try BuildScope.current())
        let pushed = try Shell.devenv(["push", "-q", "-C", project.path], store: project.store)
        try #require(pushed.status == 0, "\(pushed.output)")
        return (project, repository)
    }

    /// A base and one setup step: for what needs no packages.
    static func minimalManifest(setup: String = "echo built > /opt/marker") throws -> String {
        """
        name = "shared"

        [base]
        image = "\(try BuildProject.base())"

        [[setup]]
        name = "marker"
        run = "\(setup)"
        """
    }

    /// The project as a teammate has it: the same files in another directory, a store of their own.
    func teammate(of project: BuildProject, in temp: TemporaryDirectory) throws -> BuildProject {
        let copy = try BuildProject(try String(contentsOfFile: project.manifestPath, encoding: .utf8), store: temp.path + "/store")
        try FileManager.default.copyItem(atPath: project.lockPath, toPath: copy.lockPath)
        return copy
    }

    @Test func aTeammatesFreshStoreBuildsNothingAndRunsWhatWasPulled() throws {
        let (project, repository) = try pushedProject()
        let temp = try TemporaryDirectory("teammate")
        let mate = try teammate(of: project, in: temp)

        let build = try mate.devenv("build")
        try #require(build.status == 0, "\(build.output)")
        #expect(layerReport(build.stderr) == ["base": "pulled", "apt": "pulled", "pip": "pulled", "setup marker": "pulled"], "\(build.stderr)")
        #expect(!build.stderr.contains("running…"), "a step ran: \(build.stderr)")
        #expect(build.stderr.contains("pulling from \(repository):lock-"), "the lock's own tag comes first: \(build.stderr)")
        let states = try mate.layerStates()
        #expect(Set(states.values) == ["pulled"], "\(states)")
        #expect(build.stderr.contains("(3 of its layers pulled from \(repository)); enter it with: devenv enter"), "\(build.stderr)")
        // The environment's image names the pulled directories: gc keeps them.
        let collected = try mate.devenv("gc")
        #expect(collected.status == 0, "\(collected.output)")

        let ran = try mate.sh("cat /opt/marker; jq --version; python -c 'import six; print(six.__version__)'; echo $GREETING")
        #expect(ran.status == 0 && ran.stdout == "built\njq-1.6\n1.16.0\nhello from shared\n", "\(ran.output)")
        let again = try mate.devenv("build")
        #expect(again.status == 0 && again.stderr.contains("is up to date"), "\(again.output)")

        // The teammate's push publishes the same layers under the same keys: nothing to send.
        let pushed = try Shell.devenv(["push", "-C", mate.path], store: mate.store)
        #expect(pushed.status == 0, "\(pushed.output)")
        #expect(!pushed.stderr.contains("uploaded in"), "layers pulled from the registry went back up: \(pushed.output)")
    }

    /// The newcomer's one command: `devenv clone --enter` of the repository builds its
    /// environment by pulling it, then the shell runs in it.
    @Test func aNewcomersCloneAndEnterPullTheEnvironment() throws {
        let (project, repository) = try pushedProject(try Self.minimalManifest())
        let git = ["-C", project.path, "-c", "user.name=t", "-c", "user.email=t@example.com"]
        try #require(try Shell.run("git", git + ["add", "-A"]).status == 0)
        try #require(try Shell.run("git", git + ["commit", "-qm", "environment"]).status == 0)
        let temp = try TemporaryDirectory("newcomer")
        let cloned = try Shell.run("/usr/bin/env", ["-C", temp.path, try TestEnvironment.binary(), "clone", "--store", temp.path + "/store",
                                                    "--enter", "file://\(project.path)", "work"],
                                   stdin: "cat /opt/marker\nexit 0\n")
        #expect(cloned.status == 0, "\(cloned.output)")
        #expect(cloned.stdout.contains("built\n"), "\(cloned.output)")
        #expect(layerReport(cloned.stderr)["setup marker"] == "pulled", "\(cloned.stderr)")
        #expect(cloned.stderr.contains("pulled from \(repository)"), "\(cloned.stderr)")
        #expect(!cloned.stderr.contains("running…"), "a step ran: \(cloned.stderr)")
    }

    @Test func aOneStepChangeRebuildsThatStepAloneAndSaysWhy() throws {
        let (project, _) = try pushedProject()
        let temp = try TemporaryDirectory("teammate-change")
        let mate = try teammate(of: project, in: temp)
        try mate.write(try String(contentsOfFile: mate.manifestPath, encoding: .utf8).replacingOccurrences(of: "echo built", with: "echo changed"))

        let build = try mate.devenv("build")
        try #require(build.status == 0, "\(build.output)")
        #expect(layerReport(build.stderr) == ["base": "pulled", "apt": "pulled", "pip": "pulled", "setup marker": "built"], "\(build.stderr)")
        #expect(build.stderr.contains("setup marker (its command or environment differs from the registry's): running…"), "\(build.stderr)")
        // The lock did not change, so its tag names the old environment; `latest` has it too.
        #expect(try mate.sh("cat /opt/marker").stdout == "changed\n")
    }

    /// A registry layer is content like any other: the blob's digest matches the manifest, but
    /// its tar is not the diff_id the config claims. It is refused before it gets a directory,
    /// and the step is built here instead.
    @Test func aRegistryLayerThatIsNotTheDiffIDItClaimsIsRefused() throws {
        let (project, repository) = try pushedProject(try Self.minimalManifest())
        let tampered = """
            import gzip, hashlib, io, json, sys, tarfile, urllib.request
            registry, name = sys.argv[1].split("/", 1)
            base = f"http://{registry}/v2/{name}"
            accept = {"Accept": "application/vnd.oci.image.manifest.v1+json"}
            tags = json.load(urllib.request.urlopen(f"{base}/tags/list"))["tags"]
            manifest = json.load(urllib.request.urlopen(urllib.request.Request(f"{base}/manifests/latest", headers=accept)))
            layer = next(l for l in manifest["layers"] if l.get("annotations", {}).get("dev.devenv.step.title") == "setup marker")
            data = io.BytesIO()
            with tarfile.open(fileobj=data, mode="w") as tar:
                content = b"planted-by-a-lying-registry\\n"
                info = tarfile.TarInfo("opt/marker"); info.size = len(content)
                tar.addfile(info, io.BytesIO(content))
            blob = gzip.compress(data.getvalue())
            digest = "sha256:" + hashlib.sha256(blob).hexdigest()
            location = urllib.request.urlopen(urllib.request.Request(f"{base}/blobs/uploads/", method="POST")).headers["Location"]
            location = location if location.startswith("http") else f"http://{registry}{location}"
            urllib.request.urlopen(urllib.request.Request(location + ("&" if "?" in location else "?") + "digest=" + digest, data=blob, method="PUT",
                                                          headers={"Content-Type": "application/octet-stream"}))
            layer["digest"], layer["size"] = digest, len(blob)
            body = json.dumps(manifest).encode()
            for tag in tags:
                urllib.request.urlopen(urllib.request.Request(f"{base}/manifests/{tag}", data=body, method="PUT",
                                                              headers={"Content-Type": manifest["mediaType"]}))
            print(digest)
            """
        let planted = try Shell.run("python3", ["-c", tampered, repository])
        try #require(planted.status == 0, "\(planted.output)")
        let temp = try TemporaryDirectory("teammate-lied-to")
        let mate = try teammate(of: project, in: temp)

        let build = try mate.devenv("build")
        try #require(build.status == 0, "\(build.output)")
        #expect(build.stderr.contains("setup marker: the layer \(repository) has for setup marker"), "\(build.stderr)")
        #expect(build.stderr.contains("was refused") && build.stderr.contains("building it here instead"), "\(build.stderr)")
        #expect(layerReport(build.stderr)["setup marker"] == "built", "\(build.stderr)")
        #expect(try mate.sh("cat /opt/marker").stdout == "built\n")
        // Rootless, some of a layer's files are its subordinate ids' alone (-s: not a finding);
        // the planted file would be readable by anyone.
        let grep = try Shell.run("grep", ["-rls", "planted-by-a-lying-registry", mate.store + "/layers"])
        #expect(grep.stdout.isEmpty, "the refused layer's content is in the store: \(grep.output)")
    }

    @Test func anUnreachableOrEmptyRegistryMeansALocalBuildAndOneLine() throws {
        let temp = try TemporaryDirectory("share-unreachable")
        let registries = [("127.0.0.1:1/team/app", "Not using prebuilt layers from 127.0.0.1:1/team/app ("),
                          ("\(try TestEnvironment.registry())/shared/never-pushed", "has no environment tagged lock-")]
        for (index, (image, said)) in registries.enumerated() {
            // One store: each setup step is new, so looked up.
            let manifest = try Self.minimalManifest(setup: "echo built-\(index) > /opt/marker")
            let project = try BuildProject(manifest + "\n\n[share]\nimage = \"\(image)\"\n", store: temp.path + "/store")
            let build = try project.devenv("build")
            try #require(build.status == 0, "\(build.output)")
            #expect(build.stderr.components(separatedBy: said).count == 2, "\(build.stderr)")
            #expect(!build.stderr.contains("pulling from"), "\(build.stderr)")
            #expect(try project.sh("cat /opt/marker").stdout == "built-\(index)\n")
        }
    }

    /// A layer a registry supplied serves the projects that name that registry, never another
    /// project with the same steps: a repository (and its registry) cannot plant content in an
    /// environment that does not ask for them.
    @Test func aPulledLayerServesOnlyProjectsNamingThatRegistry() throws {
        let (project, _) = try pushedProject(try Self.minimalManifest())
        let temp = try TemporaryDirectory("teammate-other-project")
        let mate = try teammate(of: project, in: temp)
        let pulled = try mate.devenv("build")
        try #require(pulled.status == 0 && layerReport(pulled.stderr)["setup marker"] == "pulled", "\(pulled.output)")

        let other = try BuildProject(try Self.minimalManifest(), store: mate.store)
        try FileManager.default.copyItem(atPath: project.lockPath, toPath: other.lockPath)
        let build = try other.devenv("build")
        try #require(build.status == 0, "\(build.output)")
        #expect(layerReport(build.stderr) == ["base": "cached", "setup marker": "built"], "\(build.stderr)")
        #expect(try other.layerKeys() == (try mate.layerKeys()), "the same steps, so the same keys")
    }
}
