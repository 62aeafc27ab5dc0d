import Manifest

/// The shell scripts of the build and resolve steps. Package names and requirements reach them
/// through environment variables, never spliced into the script text, so nothing in a manifest
/// can inject shell syntax; they were validated by the manifest parser and are split on
/// whitespace (apt) or newlines (pip) only.
public enum StepScripts {
    /// Where pip requirements are installed; its `bin` goes first on PATH inside.
    public static let venv = "/opt/devenv/venv"

    /// apt options for all invocations. Without subordinate ids only one id is mapped, so apt
    /// cannot switch to its `_apt` download user and must fetch as root.
    static func aptOptions(singleID: Bool) -> String {
        "-q -o Acquire::Retries=3 -o Dpkg::Use-Pty=0" + (singleID ? " -o APT::Sandbox::User=root" : "")
    }

    /// Prints apt's `Inst` lines for the requested packages on stdout (the update's output on stderr).
    public static func resolveApt(requests: [String], singleID: Bool) -> (command: [String], environment: [String]) {
        let options = aptOptions(singleID: singleID)
        let script = """
            set -e
            apt-get \(options) update >&2
            apt-get \(options) install --simulate --no-install-recommends -- $DEVENV_APT
            """
        return (["/bin/sh", "-c", script], ["DEBIAN_FRONTEND=noninteractive", "DEVENV_APT=\(requests.joined(separator: " "))"])
    }

    /// Installs exactly the locked closure, then drops apt's downloaded lists and archives so the
    /// layer holds only the installed packages.
    static func installApt(_ packages: [Lock.AptPackage], singleID: Bool) -> (command: [String], environment: [String]) {
        let options = aptOptions(singleID: singleID)
        let script = """
            set -e
            apt-get \(options) update
            apt-get \(options) install --yes --no-install-recommends --allow-downgrades -- $DEVENV_APT
            apt-get \(options) clean
            rm -rf /var/lib/apt/lists/*
            """
        let pins = packages.map { "\($0.name)=\($0.version)" }.joined(separator: " ")
        return (["/bin/sh", "-c", script], ["DEBIAN_FRONTEND=noninteractive", "DEVENV_APT=\(pins)"])
    }

    /// Prints pip's JSON installation report for the requirements on stdout, resolved with the
    /// environment's own Python in a scratch venv (under /tmp, a tmpfs: nothing stays).
    public static func resolvePip(requirements: [String]) -> (command: [String], environment: [String]) {
        let script = """
            set -e
            if ! command -v python3 >/dev/null; then echo "python3 is not installed in the environment" >&2; exit 127; fi
            python3 -m venv /tmp/devenv-resolve >&2
            printf '%s\\n' "$DEVENV_REQUIREMENTS" > /tmp/devenv-requirements.txt
            /tmp/devenv-resolve/bin/pip install --quiet --disable-pip-version-check --no-cache-dir \\
                --dry-run --ignore-installed --report - -r /tmp/devenv-requirements.txt
            """
        return (["/bin/sh", "-c", script], ["DEVENV_REQUIREMENTS=\(requirements.joined(separator: "\n"))", "PIP_NO_INPUT=1"])
    }

    /// Creates the venv and installs exactly the locked distributions, each checked against its
    /// hash; `--no-deps` because the lock already holds the whole closure.
    static func installPip(_ distributions: [Lock.PipDistribution]) -> (command: [String], environment: [String]) {
        let script = """
            set -e
            python3 -m venv \(venv)
            printf '%s\\n' "$DEVENV_REQUIREMENTS" > /tmp/devenv-requirements.txt
            \(venv)/bin/pip install --disable-pip-version-check --no-cache-dir --no-input \\
                --require-hashes --no-deps -r /tmp/devenv-requirements.txt
            """
        let lines = distributions.map { distribution in
            "\(distribution.name)==\(distribution.version)" + distribution.sha256.map { " --hash=sha256:\($0)" }.joined()
        }
        return (["/bin/sh", "-c", script], ["DEVENV_REQUIREMENTS=\(lines.joined(separator: "\n"))"])
    }

    /// A `[[setup]]` step's `run`, as `sh -e -c` runs it.
    static func setup(_ run: String) -> [String] { ["/bin/sh", "-e", "-c", run] }
}
