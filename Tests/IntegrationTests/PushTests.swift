import Crypto
import Foundation
import TestSupport
import Testing

/// Issue 14: `devenv push` publishes the environment to a real registry (docker-registry on
/// 127.0.0.1) as an OCI image that other tools read and run without devenv: skopeo copies it,
/// umoci unpacks it, its files run in a plain chroot.
@Suite(.buildScope, .serialized) struct PushTests {
    func project(_ setup: String = "echo built > /opt/marker", share: String? = nil) throws -> BuildProject {
        try BuildProject("""
            name = "pushed"

            [base]
            image = "\(try BuildProject.base())"

            [env]
            GREETING = "hello from pushed"

            [[setup]]
            name = "marker"
            run = "\(setup)"
            \(share.map { "\n[share]\nimage = \"\($0)\"" } ?? "")
            """, store: try BuildScope.current())
    }

    /// A repository of its own on REG for each test.
    func repository(_ registry: String) -> String { "\(registry)/shared/push-\(UUID().uuidString.prefix(8).lowercased())" }

    func push(_ project: BuildProject, _ arguments: [String], environment: [String: String] = [:]) throws -> Shell.Result {
        try Shell.devenv(["push", "-C", project.path] + arguments, store: project.store, environment: environment)
    }

    func rawManifest(_ ref: String, _ extra: [String] = []) throws -> [String: Any] {
        let raw = try Shell.run("skopeo", ["inspect", "--raw", "--tls-verify=false"] + extra + ["docker://" + ref])
        try #require(raw.status == 0, "skopeo inspect --raw \(ref): \(raw.output)")
        return try #require(try JSONSerialization.jsonObject(with: Data(raw.stdout.utf8)) as? [String: Any])
    }

    func sha256(_ path: String) throws -> String {
        "sha256:" + SHA256.hash(data: try Data(contentsOf: URL(fileURLWithPath: path))).map { String(format: "%02x", $0) }.joined()
    }

    @Test func aPushedEnvironmentIsAnImageSkopeoAndUmociReadAndAChrootRuns() throws {
        let project = try project()
        // A commit and an origin whose URL carries a token: the image names both, never the token.
        let git = ["-C", project.path, "-c", "user.name=t", "-c", "user.email=t@example.com"]
        try #require(try Shell.run("git", git + ["add", "-A"]).status == 0)
        try #require(try Shell.run("git", git + ["commit", "-qm", "environment"]).status == 0)
        try #require(try Shell.run("git", git + ["remote", "add", "origin", "https://someone:s3cret-token@git.example.com/team/pushed.git"]).status == 0)
        let commit = try Shell.run("git", ["-C", project.path, "rev-parse", "HEAD"]).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        let repository = repository(try TestEnvironment.registry())

        let pushed = try push(project, [repository + ":dev"])
        try #require(pushed.status == 0, "\(pushed.output)")
        let lockDigest = try sha256(project.lockPath)
        let lockTag = "lock-" + lockDigest.dropFirst(7).prefix(12)
        #expect(pushed.stdout.contains("Pushed \(repository):dev and \(repository):\(lockTag) (sha256:"), "\(pushed.output)")
        #expect(pushed.stderr.contains("uploaded in"), "\(pushed.output)")
        #expect(!pushed.output.contains("s3cret-token"))

        // Both tags name the same manifest: the environment, annotated with what made it.
        let manifest = try rawManifest(repository + ":dev")
        #expect(manifest["mediaType"] as? String == "application/vnd.oci.image.manifest.v1+json")
        let annotations = try #require(manifest["annotations"] as? [String: String], "\(manifest)")
        #expect(annotations["dev.devenv.lock.digest"] == lockDigest)
        #expect(annotations["dev.devenv.manifest.digest"] == (try sha256(project.manifestPath)))
        #expect(annotations["org.opencontainers.image.revision"] == commit)
        #expect(annotations["org.opencontainers.image.source"] == "https://git.example.com/team/pushed.git")
        #expect(annotations["dev.devenv.project"] == nil, "the project's local path was published")
        let layers = try #require(manifest["layers"] as? [[String: Any]])
        #expect(layers.allSatisfy { ($0["mediaType"] as? String)?.hasPrefix("application/vnd.oci.image.layer.") == true }, "\(layers)")
        #expect(layers.allSatisfy { ($0["annotations"] as? [String: String])?["dev.devenv.layer.key"] != nil }, "\(layers)")
        let base = try rawManifest(try BuildProject.base())
        #expect(layers.count == ((base["layers"] as? [Any])?.count ?? -1) + 1, "base layers plus the setup step's: \(layers.count)")
        let pinned = try Shell.run("skopeo", ["inspect", "--tls-verify=false", "--format", "{{.Digest}}", "docker://\(repository):\(lockTag)"])
        let moving = try Shell.run("skopeo", ["inspect", "--tls-verify=false", "--format", "{{.Digest}}", "docker://\(repository):dev"])
        #expect(pinned.status == 0 && pinned.stdout == moving.stdout, "\(pinned.output) \(moving.output)")

        // Other tools, no devenv: skopeo copies it to an OCI layout, umoci unpacks it, and the
        // environment's files work in a plain chroot with the variables its config names.
        let temp = try TemporaryDirectory("push-interop")
        let copied = try Shell.run("skopeo", ["copy", "--src-tls-verify=false", "docker://\(repository):dev", "oci:\(temp.path)/oci:dev"])
        try #require(copied.status == 0, "\(copied.output)")
        let unpacked = try Shell.run("umoci", ["unpack", "--image", "\(temp.path)/oci:dev", temp.path + "/bundle"])
        try #require(unpacked.status == 0, "\(unpacked.output)")
        let config = try String(contentsOfFile: temp.path + "/bundle/config.json", encoding: .utf8)
        #expect(config.contains("GREETING=hello from pushed"), "the image's Env lacks [env]")
        let ran = try Shell.run("/usr/sbin/chroot", [temp.path + "/bundle/rootfs", "/bin/sh", "-c", "cat /opt/marker"])
        #expect(ran.status == 0 && ran.stdout == "built\n", "\(ran.output)")
    }

    @Test func aSecondPushSendsNothingAndAOneStepChangeSendsOneLayer() throws {
        let project = try project()
        let repository = repository(try TestEnvironment.registry())
        let first = try push(project, [repository])
        try #require(first.status == 0, "\(first.output)")
        #expect(first.stdout.contains("Pushed \(repository):latest and "), "\(first.output)")

        let second = try push(project, [repository])
        #expect(second.status == 0, "\(second.output)")
        #expect(!second.stderr.contains("uploaded in") && !second.stderr.contains("mounted from"), "an unchanged environment sent blobs: \(second.output)")
        #expect(second.stderr.components(separatedBy: "already in the registry").count - 1 >= 2, "\(second.output)")
        #expect(second.stderr.contains("tag latest  unchanged"), "\(second.output)")

        try project.write(try String(contentsOfFile: project.manifestPath, encoding: .utf8).replacingOccurrences(of: "echo built", with: "echo rebuilt"))
        let changed = try push(project, [repository])
        #expect(changed.status == 0, "\(changed.output)")
        let uploadedLayers = changed.stderr.split(separator: "\n").filter { $0.contains("layer ") && $0.contains("uploaded in") }
        #expect(uploadedLayers.count == 1, "one step changed, yet: \(changed.output)")
        #expect(changed.stderr.contains("config ") && changed.stderr.contains("uploaded in"), "\(changed.output)")
        let manifest = try rawManifest(repository + ":latest")
        let annotations = manifest["annotations"] as? [String: String]
        #expect(annotations?["dev.devenv.lock.digest"] == (try sha256(project.lockPath)))
    }

    @Test func theShareImageIsTheDefaultAndWithoutOneTheErrorSaysWhatToAdd() throws {
        let repository = repository(try TestEnvironment.registry())
        let shared = try project(share: repository)
        let pushed = try push(shared, ["-q"])
        #expect(pushed.status == 0, "\(pushed.output)")
        #expect(pushed.stdout.hasPrefix(repository + "@sha256:") && pushed.stderr.isEmpty, "\(pushed.output)")
        #expect(try rawManifest(repository + ":latest")["layers"] != nil)

        let unshared = try project()
        let refused = try push(unshared, [])
        #expect(refused.status == 1, "\(refused.output)")
        #expect(refused.stderr.contains("nowhere to push: no REF given and \(unshared.manifestPath) has no [share] image"), "\(refused.output)")
        #expect(refused.stderr.contains("[share]\n"), "\(refused.output)")

        let pinned = try push(unshared, [repository + "@sha256:" + String(repeating: "a", count: 64)])
        #expect(pinned.status == 1 && pinned.stderr.contains("a digest names one image"), "\(pinned.output)")
    }

    @Test func pushingToABasicAuthRegistryNeedsTheCredentialsAndNeverShowsThem() throws {
        let project = try project()
        let repository = repository(try TestEnvironment.authRegistry())
        let anonymous = try push(project, [repository], environment: ["DOCKER_CONFIG": project.path + "/none"])
        #expect(anonymous.status == 1, "\(anonymous.output)")
        #expect(anonymous.stderr.contains("requires authentication"), "\(anonymous.output)")

        let right = try push(project, [repository], environment: ["DOCKER_CONFIG": try TestEnvironment.fixtures() + "/auth"])
        #expect(right.status == 0, "\(right.output)")
        #expect(!right.output.contains("s3cret"))
        #expect(!right.output.contains(Data("devenv:s3cret-pass".utf8).base64EncodedString()))
        let inspected = try Shell.run("skopeo", ["inspect", "--tls-verify=false", "--creds", "devenv:s3cret-pass", "docker://\(repository):latest"])
        #expect(inspected.status == 0, "\(inspected.output)")
    }

    /// `devenv export`: the same image as one file; skopeo reads it as an OCI archive and (with
    /// --format docker) as a Docker archive, umoci unpacks what skopeo copied, a chroot runs it.
    @Test func anExportedArchiveIsReadAsOCIAndAsDockerAndIsTheSameBytesTwice() throws {
        let project = try project()
        let temp = try TemporaryDirectory("export")
        for format in ["oci", "docker"] {
            let file = temp.path + "/env-\(format).tar"
            let exported = try Shell.devenv(["export", "-C", project.path, "--format", format, "-o", file], store: project.store)
            try #require(exported.status == 0, "\(exported.output)")
            #expect(exported.stdout.contains("Wrote \(file) (\(format), devenv/pushed:latest, sha256:"), "\(exported.output)")
            #expect(!FileManager.default.fileExists(atPath: file + ".partial"))
            let members = try Shell.run("tar", ["-tf", file]).stdout.split(separator: "\n").map(String.init)
            #expect(members.contains("oci-layout") && members.contains("index.json"), "\(members)")
            #expect(members.contains("manifest.json") == (format == "docker"), "\(members)")

            let transport = format == "oci" ? "oci-archive:\(file)" : "docker-archive:\(file)"
            let copied = try Shell.run("skopeo", ["copy", transport, "oci:\(temp.path)/\(format):copied"])
            try #require(copied.status == 0, "skopeo copy \(transport): \(copied.output)")
            let bundle = temp.path + "/bundle-" + format
            let unpacked = try Shell.run("umoci", ["unpack", "--image", "\(temp.path)/\(format):copied", bundle])
            try #require(unpacked.status == 0, "\(unpacked.output)")
            let ran = try Shell.run("/usr/sbin/chroot", [bundle + "/rootfs", "/bin/sh", "-c", "cat /opt/marker"])
            #expect(ran.status == 0 && ran.stdout == "built\n", "\(ran.output)")
        }
        let again = temp.path + "/again.tar"
        #expect(try Shell.devenv(["export", "-C", project.path, "-q", "-o", again], store: project.store).status == 0)
        #expect(try sha256(again) == (try sha256(temp.path + "/env-oci.tar")), "the same environment exported twice differs")

        let nowhere = try Shell.devenv(["export", "-C", project.path, "-o", temp.path + "/missing/env.tar"], store: project.store)
        #expect(nowhere.status == 1 && nowhere.stderr.contains("cannot write \(temp.path)/missing/env.tar"), "\(nowhere.output)")
        let zip = try Shell.devenv(["export", "-C", project.path, "--format", "zip", "-o", again], store: project.store)
        #expect(zip.status == 2 && zip.stderr.contains("--format must be one of: oci, docker"), "\(zip.output)")
    }

    /// Docker Hub's flow: a bearer token whose scope must include push. The test user's token
    /// grants pull on fixtures/* only, so its push is refused and says so; a push account's
    /// token pushes, and no token or password is ever printed.
    @Test func pushingWithATokenNeedsPushScopeAndNeverShowsIt() throws {
        let project = try project()
        let temp = try TemporaryDirectory("token-push")
        let registry = try TokenAuthTests.registry()
        let repository = repository(registry)

        let pullOnly = try push(project, [repository], environment: ["DOCKER_CONFIG": try TokenAuthTests.dockerConfig("config.json", in: temp)])
        #expect(pullOnly.status == 1, "\(pullOnly.output)")
        #expect(pullOnly.stderr.contains("accepted the credentials for user \"devenv\""), "\(pullOnly.output)")
        #expect(pullOnly.stderr.contains(String(repository.dropFirst(registry.count + 1))), "\(pullOnly.output)")
        try TokenAuthTests.expectNoSecrets(pullOnly, password: try TestEnvironment.value("DEVENV_TEST_AUTH_PASSWORD"))

        let user = try TestEnvironment.value("DEVENV_TEST_TOKEN_PUSH_USER")
        let password = try TestEnvironment.value("DEVENV_TEST_TOKEN_PUSH_PASSWORD")
        let config = temp.path + "/pusher"
        try FileManager.default.createDirectory(atPath: config, withIntermediateDirectories: true)
        let auth = Data("\(user):\(password)".utf8).base64EncodedString()
        try #"{"auths": {"\#(registry)": {"auth": "\#(auth)"}}}"#.write(toFile: config + "/config.json", atomically: true, encoding: .utf8)
        let pushed = try push(project, [repository], environment: ["DOCKER_CONFIG": config])
        #expect(pushed.status == 0, "\(pushed.output)")
        #expect(!pushed.output.contains(password) && !pushed.output.contains(auth), "the push account's password leaked")
        #expect(!pushed.output.contains("eyJ"), "a token leaked into the output")
        let inspected = try Shell.run("skopeo", ["inspect", "--tls-verify=false", "--creds", "\(user):\(password)", "docker://\(repository):latest"])
        #expect(inspected.status == 0, "\(inspected.output)")
    }

    /// Two pushes of one environment at once to one repository: both succeed with the same
    /// image, whichever uploads a blob first.
    @Test func twoPushesAtOnceBothSucceedWithTheSameImage() throws {
        let project = try project()
        try #require(try Shell.devenv(["build", "-C", project.path, "-q"], store: project.store).status == 0)
        let repository = repository(try TestEnvironment.authRegistry())
        let environment = ["DOCKER_CONFIG": try TestEnvironment.fixtures() + "/auth"]
        let lock = NSLock()
        nonisolated(unsafe) var results: [Shell.Result] = []
        let arguments = ["push", "-C", project.path, repository, "-q"]
        let store = project.store
        DispatchQueue.concurrentPerform(iterations: 2) { _ in
            let result = try? Shell.devenv(arguments, store: store, environment: environment)
            lock.lock()
            if let result { results.append(result) }
            lock.unlock()
        }
        try #require(results.count == 2)
        #expect(results.allSatisfy { $0.status == 0 }, "\(results.map(\.output))")
        #expect(results[0].stdout == results[1].stdout && results[0].stdout.hasPrefix(repository + "@sha256:"), "\(results.map(\.stdout))")
    }

    /// A push killed while a blob is on its way (a proxy holds every upload, and the test kills
    /// once one has started) publishes nothing; run again, it completes and the image is whole.
    @Test func aPushKilledHalfwayCompletesWhenRunAgain() throws {
        let project = try project("head -c 3000000 /dev/urandom > /opt/data")
        try #require(try Shell.devenv(["build", "-C", project.path, "-q"], store: project.store).status == 0)
        // Through a proxy that holds every upload: the kill lands while a blob is on its way.
        let temp = try TemporaryDirectory("push-killed")
        let upstream = try TestEnvironment.registry()
        let (server, port) = try startServer(Self.proxy, [upstream, temp.path + "/requests", "stall-uploads"])
        defer { stop(server) }
        let name = "shared/killed-\(UUID().uuidString.prefix(8).lowercased())"
        let process = Process()
        process.executableURL = URL(fileURLWithPath: try TestEnvironment.binary())
        process.arguments = ["push", "--store", project.store, "-C", project.path, "127.0.0.1:\(port)/\(name)"]
        process.standardError = FileHandle.nullDevice
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        let deadline = Date().addingTimeInterval(60)
        var requests = ""
        while !requests.contains("upload "), Date() < deadline, process.isRunning {
            usleep(50_000)
            requests = (try? String(contentsOfFile: temp.path + "/requests", encoding: .utf8)) ?? ""
        }
        try #require(requests.contains("upload "), "the push never started an upload: \(requests)")
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
        let half = try Shell.run("skopeo", ["inspect", "--raw", "--tls-verify=false", "docker://\(upstream)/\(name):latest"])
        #expect(half.status != 0, "the killed push published its manifest: \(half.output)")

        let again = try push(project, ["\(upstream)/\(name)"])
        #expect(again.status == 0, "\(again.output)")
        let copied = try Shell.run("skopeo", ["copy", "--src-tls-verify=false", "docker://\(upstream)/\(name):latest", "oci:\(temp.path)/oci:x"])
        #expect(copied.status == 0, "the resumed push left an incomplete image: \(copied.output)")
    }

    @Test func anUploadLocationOnAnotherHostNeverGetsTheCredentials() throws {
        let project = try project()
        let temp = try TemporaryDirectory("foreign-location")
        let script = """
            import http.server, sys, threading
            log = open(sys.argv[1], "a", buffering=1)
            class Registry(http.server.BaseHTTPRequestHandler):
                def log_message(self, *args): pass
                def reply(self, code, headers={}):
                    self.send_response(code)
                    for name, value in headers.items(): self.send_header(name, value)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                def answer(self):
                    log.write(f"{self.server.server_address[0]} {self.command} auth={'Authorization' in self.headers}\\n")
                    length = int(self.headers.get("Content-Length") or 0)
                    if length: self.rfile.read(length)
                    if self.server is other: return self.reply(201)
                    if "Authorization" not in self.headers: return self.reply(401, {"WWW-Authenticate": 'Basic realm="r"'})
                    if self.command == "HEAD": return self.reply(404)
                    if self.command == "POST": return self.reply(202, {"Location": f"http://127.0.0.2:{other.server_port}/upload"})
                    return self.reply(400)
                do_GET = do_HEAD = do_POST = do_PUT = do_PATCH = answer
            main = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Registry)
            other = http.server.ThreadingHTTPServer(("127.0.0.2", 0), Registry)
            threading.Thread(target=other.serve_forever, daemon=True).start()
            print(main.server_port, flush=True)
            main.serve_forever()
            """
        let (server, port) = try startServer(script, [temp.path + "/requests"])
        defer { stop(server) }
        let registry = "127.0.0.1:\(port)"
        let config = temp.path + "/docker"
        try FileManager.default.createDirectory(atPath: config, withIntermediateDirectories: true)
        let auth = Data("ada:registry-password".utf8).base64EncodedString()
        try #"{"auths": {"\#(registry)": {"auth": "\#(auth)"}}}"#.write(toFile: config + "/config.json", atomically: true, encoding: .utf8)

        let pushed = try push(project, [registry + "/team/app"], environment: ["DOCKER_CONFIG": config])
        #expect(pushed.status != 0, "the fake registry refuses the manifest: \(pushed.output)")
        let requests = try String(contentsOfFile: temp.path + "/requests", encoding: .utf8).split(separator: "\n")
        let foreign = requests.filter { $0.hasPrefix("127.0.0.2 ") }
        #expect(!foreign.isEmpty, "no upload reached the other host, so nothing was tested: \(requests)")
        #expect(foreign.allSatisfy { $0.hasSuffix("auth=False") }, "credentials went to another host: \(foreign)")
        #expect(requests.contains { $0.hasPrefix("127.0.0.1 POST") && $0.hasSuffix("auth=True") }, "\(requests)")
        #expect(!pushed.output.contains("registry-password") && !pushed.output.contains(auth))
    }

    /// A proxy in front of a registry (argv: upstream host:port, log file, mode) that logs each
    /// request's method and body length. Mode `refuse-whole` answers 413 to every upload PUT
    /// with a body (a registry taking blobs only in chunks); `stall-uploads` logs "upload" and
    /// holds every upload body for a minute (a push caught mid-upload).
    static let proxy = """
        import http.client, http.server, sys, time
        upstream, mode = sys.argv[1], sys.argv[3]
        log = open(sys.argv[2], "a", buffering=1)
        class Proxy(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            def log_message(self, *args): pass
            def forward(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else None
                upload = self.command in ("PUT", "PATCH") and length > 0 and "/blobs/uploads/" in self.path
                if upload and mode == "refuse-whole" and self.command == "PUT":
                    log.write(f"PUT {length} refused\\n")
                    self.send_response(413)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                if upload and mode == "stall-uploads":
                    log.write(f"upload {length}\\n")
                    time.sleep(60)
                log.write(f"{self.command} {length}\\n")
                headers = {k: v for k, v in self.headers.items() if k.lower() not in ("host", "connection")}
                headers["Host"] = self.headers["Host"]
                connection = http.client.HTTPConnection(upstream)
                connection.request(self.command, self.path, body=body, headers=headers)
                response = connection.getresponse()
                data = response.read()
                self.send_response(response.status)
                for name, value in response.getheaders():
                    if name.lower() not in ("content-length", "connection", "transfer-encoding"): self.send_header(name, value)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                if self.command != "HEAD": self.wfile.write(data)
            do_GET = do_HEAD = do_POST = do_PUT = do_PATCH = do_DELETE = forward
        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Proxy)
        print(server.server_port, flush=True)
        server.serve_forever()
        """

    /// A Python "registry" from `script` (given `arguments`), which prints its port first.
    func startServer(_ script: String, _ arguments: [String]) throws -> (Process, Int) {
        let server = Process()
        server.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
        server.arguments = ["-c", script] + arguments
        let output = Pipe()
        server.standardOutput = output
        try server.run()
        var line = Data()
        while !line.contains(UInt8(ascii: "\n")) {
            let chunk = output.fileHandleForReading.availableData
            if chunk.isEmpty { break }
            line.append(chunk)
        }
        let port = Int(String(decoding: line, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines))
        if port == nil { stop(server) }
        return (server, try #require(port, "the test server did not say its port: \(String(decoding: line, as: UTF8.self))"))
    }

    /// SIGKILL: the test runner's threads block SIGTERM, and the child inherits the mask.
    func stop(_ server: Process) {
        kill(server.processIdentifier, SIGKILL)
        server.waitUntilExit()
    }

    /// Some registries and proxies take a blob only in chunks: here a proxy in front of the test
    /// registry refuses every PUT that carries a body (413). The push falls back to PATCHes and
    /// a closing PUT, and the image is whole: skopeo copies it back, checking every digest.
    @Test func aRegistryRefusingWholeUploadsGetsTheBlobInChunks() throws {
        let project = try project("head -c 3000000 /dev/urandom > /opt/data")
        let temp = try TemporaryDirectory("chunked-push")
        let upstream = try TestEnvironment.registry()
        let (server, port) = try startServer(Self.proxy, [upstream, temp.path + "/requests", "refuse-whole"])
        defer { stop(server) }
        let name = "shared/chunked-\(UUID().uuidString.prefix(8).lowercased())"

        let pushed = try push(project, ["127.0.0.1:\(port)/\(name)"])
        try #require(pushed.status == 0, "\(pushed.output)")
        let requests = try String(contentsOfFile: temp.path + "/requests", encoding: .utf8).split(separator: "\n")
        #expect(requests.contains { $0.hasSuffix(" refused") }, "no whole upload was tried, so nothing was tested: \(requests)")
        let patched = requests.filter { $0.hasPrefix("PATCH ") }.compactMap { Int($0.split(separator: " ")[1]) }.reduce(0, +)
        #expect(patched >= 3_000_000, "the 3 MB layer did not go up in PATCHes: \(requests)")
        let copied = try Shell.run("skopeo", ["copy", "--src-tls-verify=false", "docker://\(upstream)/\(name):latest", "oci:\(temp.path)/oci:copy"])
        #expect(copied.status == 0, "\(copied.output)")
    }
}
