import Foundation
import TestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// A project's shell works with the user's git and ssh as on the host: their git configuration
/// (identity, aliases, included files) read-only inside, the repository never "dubious", their
/// ssh agent in projects they approved, and bash's history kept with the project. Run as root and
/// as both unprivileged users; git inside is the host's, mounted by the manifest (the fixture
/// image has none).
@Suite(.buildScope, .serialized, .tags(.rootless)) struct EverydayShellTests {
    let home: TemporaryDirectory

    init() throws {
        home = try TemporaryDirectory("git-home")
        try """
            [user]
            \tname = Ada Lovelace
            \temail = ada@example.com
            [include]
            \tpath = ~/.gitconfig-aliases

            """.write(toFile: home.path + "/.gitconfig", atomically: true, encoding: .utf8)
        try "[alias]\n\thi = !echo hello from an included alias\n".write(toFile: home.path + "/.gitconfig-aliases", atomically: true, encoding: .utf8)
    }

    func project() throws -> BuildProject {
        let project = try BuildProject("""
            name = "gitty"

            [base]
            image = "\(try BuildProject.base())"

            [mounts]
            "/usr/bin/git" = "ro"
            """, store: try BuildScope.current())
        try #require(try project.devenv("trust", ["-q"]).status == 0)
        return project
    }

    func run(_ project: BuildProject, _ script: String, environment: [String: String] = [:]) throws -> Shell.Result {
        try Shell.run(try TestEnvironment.binary(), ["run", "-C", project.path, "--store", project.store, "-q", "--", "sh", "-c", script],
                      environment: ["HOME": home.path, "GIT_CONFIG_GLOBAL": "", "XDG_CONFIG_HOME": ""].merging(environment) { $1 })
    }

    @Test func theUsersGitConfigurationIsThereReadOnly() throws {
        let project = try project()
        let before = try String(contentsOfFile: home.path + "/.gitconfig", encoding: .utf8)
        let result = try run(project, """
            git config user.name
            git hi
            git commit -q --allow-empty -m inside && git log -1 --format='%an <%ae>'
            (git config --global core.editor evil) 2>/dev/null && echo wrote the global configuration
            (echo evil >> ~/.gitconfig-aliases) 2>/dev/null && echo wrote an included file
            true
            """)
        #expect(result.status == 0, "\(result.output)")
        #expect(result.stdout == "Ada Lovelace\nhello from an included alias\nAda Lovelace <ada@example.com>\n", "\(result.output)")
        #expect(try String(contentsOfFile: home.path + "/.gitconfig", encoding: .utf8) == before)
        #expect(try String(contentsOfFile: home.path + "/.gitconfig-aliases", encoding: .utf8) == "[alias]\n\thi = !echo hello from an included alias\n")

        // As root, in another user's repository: git inside must not call it dubious.
        if geteuid() == 0 {
            #expect(try Shell.run("chown", ["-R", "1000:1000", project.path]).status == 0)
            let status = try run(project, "git status --porcelain")
            #expect(status.status == 0 && !status.stderr.contains("dubious"), "\(status.output)")
        }
    }

    /// A host edit of the configuration is seen at the next start, fast starts included.
    @Test func aChangedGitConfigurationIsSeenAtTheNextStart() throws {
        let project = try project()
        for _ in 0..<3 { #expect(try run(project, "git config user.name").stdout == "Ada Lovelace\n") }
        try "[user]\n\tname = Grace Hopper\n".write(toFile: home.path + "/.gitconfig", atomically: true, encoding: .utf8)
        #expect(try run(project, "git config user.name").stdout == "Grace Hopper\n")
    }

    /// The agent's socket is bound in for an approved project, and only then: a cloned project's
    /// code could otherwise use the user's keys. Root's sandboxes run as ids ssh-agent refuses, so
    /// root gets none. Talks the agent protocol with perl (the image has no ssh).
    @Test func theSSHAgentIsThereInApprovedProjectsOnly() throws {
        let sockets = try TemporaryDirectory("agent")
        let socket = sockets.path + "/agent.sock"
        // Started by python, which closes every other descriptor in the child: the agent would
        // otherwise keep this process's output pipes open, and their reader waiting.
        let started = try Shell.run("python3", ["-c", """
            import subprocess, sys
            agent = subprocess.Popen(["ssh-agent", "-D", "-a", sys.argv[1]], stdin=subprocess.DEVNULL,
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
            print(agent.pid)
            """, socket])
        let pid = try #require(Int32(started.stdout.trimmingCharacters(in: .whitespacesAndNewlines)), "ssh-agent: \(started.output)")
        defer { kill(pid, SIGTERM) }
        for _ in 0..<100 where !FileManager.default.fileExists(atPath: socket) { usleep(20_000) }
        try #require(FileManager.default.fileExists(atPath: socket), "ssh-agent made no socket")
        let keygen = try Shell.run("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", sockets.path + "/key"])
        try #require(keygen.status == 0, "\(keygen.output)")
        let added = try Shell.run("ssh-add", ["-q", sockets.path + "/key"], environment: ["SSH_AUTH_SOCK": socket])
        try #require(added.status == 0, "\(added.output)")

        let query = """
            [ -n "$SSH_AUTH_SOCK" ] || { echo no agent; exit 0; }
            perl -MIO::Socket::UNIX -e '
                my $s = IO::Socket::UNIX->new(Peer => $ENV{SSH_AUTH_SOCK}) or die "connect: $!\\n";
                print $s pack("NC", 1, 11);
                read($s, my $h, 4) == 4 or die "no answer\\n";
                read($s, my $b, unpack("N", $h));
                my ($type, $keys) = unpack("CN", $b);
                print "type $type, $keys keys\\n";'
            """
        let project = try project()
        let approved = try run(project, query, environment: ["SSH_AUTH_SOCK": socket])
        #expect(approved.status == 0, "\(approved.output)")
        #expect(approved.stdout == (geteuid() == 0 ? "no agent\n" : "type 12, 1 keys\n"), "\(approved.output)")

        #expect(try project.devenv("trust", ["--revoke", "-q"]).status == 0)
        try project.write("name = \"gitty\"\n\n[base]\nimage = \"\(try BuildProject.base())\"\n")
        let notApproved = try Shell.run(try TestEnvironment.binary(), ["run", "-C", project.path, "--store", project.store, "--", "sh", "-c", query],
                                        environment: ["SSH_AUTH_SOCK": socket])
        #expect(notApproved.status == 0 && notApproved.stdout == "no agent\n", "\(notApproved.output)")
        #expect(notApproved.stderr.contains("devenv: note: your ssh agent stays outside until you approve this project"), "\(notApproved.output)")
    }

    /// bash's history is in the project's home, written as each command runs (so a shell that is
    /// killed, or two at once, lose nothing), and there at the next start.
    @Test func bashHistoryStaysWithTheProject() throws {
        let project = try project()
        let shell = try Shell.run(try TestEnvironment.binary(), ["run", "-C", project.path, "--store", project.store, "-q", "--",
                                                                 "bash", "--rcfile", "/etc/devenv/bashrc", "-i"],
                                  stdin: "echo remembered-\(project.path.count)\nkill -9 $$\n")
        #expect(shell.stdout.contains("remembered-"), "\(shell.output)")
        let history = try run(project, "cat ~/.bash_history")
        #expect(history.stdout == "echo remembered-\(project.path.count)\n", "\(history.output)")
    }
}

extension EverydayShellTests {
    /// GnuPG's agent, as the ssh agent: its extra socket where gpg inside looks, with the public
    /// keyring read-only, in approved projects and not as root. gpg inside (from Debian, in the
    /// environment) signs with the host's key, and the host's gpg verifies the signature.
    @Test func theGnuPGAgentSignsInApprovedProjectsOnly() throws {
        let keys = try TemporaryDirectory("gnupg")
        #expect(chmod(keys.path, 0o700) == 0)
        let gpg = ["--batch", "--homedir", keys.path]
        // Started by python, which closes every other descriptor in the daemon (see the ssh test).
        let started = try Shell.run("python3", ["-c", """
            import subprocess, sys
            subprocess.run(["gpg-agent", "--homedir", sys.argv[1], "--daemon"], stdin=subprocess.DEVNULL,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True, check=True)
            """, keys.path])
        try #require(started.status == 0, "gpg-agent: \(started.output)")
        defer { _ = try? Shell.run("gpgconf", ["--homedir", keys.path, "--kill", "gpg-agent"]) }
        let generated = try Shell.run("gpg", gpg + ["--passphrase", "", "--quick-generate-key", "Ada Lovelace <ada@example.com>", "ed25519", "sign", "never"])
        try #require(generated.status == 0, "\(generated.output)")
        try #require(FileManager.default.fileExists(atPath: keys.path + "/S.gpg-agent.extra"), "gpg-agent made no extra socket")

        let project = try BuildProject("""
            name = "signer"

            [base]
            image = "\(try BuildProject.base())"

            [packages]
            apt = ["gpg"]
            """, store: try BuildScope.current())
        try #require(try project.devenv("trust", ["-q"]).status == 0)
        let sign = """
            [ -S ~/.gnupg/S.gpg-agent ] || { echo no agent; exit 0; }
            echo "signed inside" | gpg --batch --local-user ada@example.com --clearsign
            """
        let environment = ["HOME": home.path, "GNUPGHOME": keys.path]
        let signed = try run(project, sign, environment: environment)
        #expect(signed.status == 0, "\(signed.output)")
        if geteuid() == 0 {
            #expect(signed.stdout == "no agent\n", "\(signed.output)")
        } else {
            #expect(signed.stdout.contains("-----BEGIN PGP SIGNATURE-----"), "\(signed.output)")
            let message = keys.path + "/message.asc"
            try signed.stdout.write(toFile: message, atomically: true, encoding: .utf8)
            let verified = try Shell.run("gpg", gpg + ["--verify", message])
            #expect(verified.status == 0 && verified.stderr.contains("Good signature from \"Ada Lovelace <ada@example.com>\""), "\(verified.output)")
            // No private key came along: only the agent can sign.
            let listed = try run(project, "ls -A ~/.gnupg", environment: environment)
            #expect(!listed.stdout.contains("private-keys"), "\(listed.output)")
        }

        #expect(try project.devenv("trust", ["--revoke", "-q"]).status == 0)
        // A manifest asking for nothing outside runs unapproved.
        let notApproved = try Shell.run(try TestEnvironment.binary(), ["run", "-C", project.path, "--store", project.store, "--", "sh", "-c", sign],
                                        environment: environment)
        #expect(notApproved.status == 0 && notApproved.stdout.hasSuffix("no agent\n"), "\(notApproved.output)")
        #expect(notApproved.stderr.contains("GnuPG agent") && notApproved.stderr.contains("outside until you approve this project"),
                "\(notApproved.output)")
    }
}
