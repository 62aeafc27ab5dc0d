import Foundation
import Git
import Manifest
import OCI
import Sandbox
import Storage
import ImageStore

/// The project devenv works on: the git repository containing the working directory (or, outside
/// one, the working directory), its `.devenv/devenv.toml` and `.devenv/devenv.lock`, and its
/// state directory `envs/<name>-<hash of the path>/` in the store.
public struct Project {
    public let directory: String
    /// The caller's working directory, symlinks resolved.
    public let workingDirectory: String

    public init(directory: String, workingDirectory: String) {
        self.directory = directory
        self.workingDirectory = workingDirectory
    }

    public var manifestPath: String { directory + "/.devenv/devenv.toml" }
    public var lockPath: String { directory + "/.devenv/" + Lock.fileName }

    /// Finds the project from the working directory (after `-C`).
    public static func discover() throws -> Project {
        let workingDirectory = try HostPath.physicalWorkingDirectory()
        let directory = GitRepository.discoverWorkingTree(from: workingDirectory).map(HostPath.physical) ?? workingDirectory
        guard directory != "/" else {
            throw DevenvError.user("the project directory would be / (the whole host): run devenv inside a project directory")
        }
        return Project(directory: directory, workingDirectory: workingDirectory)
    }

    /// Reads and validates the manifest; every problem names the file, line and column.
    public func manifest(home: String) throws -> Manifest {
        guard FileManager.default.fileExists(atPath: manifestPath) else {
            throw DevenvError.user("""
                no \(manifestPath)
                  fix: create one with `devenv init` (see `devenv init --list`), or pass --image REF to run an image as it is
                """)
        }
        do {
            return try Manifest.load(path: manifestPath, home: home)
        } catch let error as ManifestError {
            throw DevenvError.user(error.description)
        } catch {
            throw DevenvError.user("cannot read \(manifestPath): \(error.localizedDescription)")
        }
    }

    /// Writes the lock atomically: a failed resolve or a crash leaves the old one.
    public func writeLock(_ lock: Lock) throws {
        do {
            try AtomicFile.write(lock.encoded(), to: lockPath, tmpDirectory: directory + "/.devenv")
        } catch {
            throw DevenvError.internal("cannot write \(lockPath): \(error)")
        }
    }

    /// The lock, or nil when there is none yet.
    public func lock() throws -> Lock? {
        guard FileManager.default.fileExists(atPath: lockPath) else { return nil }
        do { return try Lock.load(path: lockPath) } catch { throw DevenvError.user(error.description) }
    }

    public func environmentName(_ manifest: Manifest?) -> String {
        manifest?.name ?? URL(fileURLWithPath: directory).lastPathComponent
    }

    /// `envs/<name>-<hash>`: the name for people, the hash of the path so two checkouts of one
    /// project get separate homes.
    public func environmentDirectory(_ manifest: Manifest?, store: StoreLocation) -> String {
        "\(store.envs)/\(Self.safeName(environmentName(manifest)))-\(Digest(hashing: Array(directory.utf8)).short)"
    }

    static func safeName(_ name: String) -> String {
        String(name.map { $0.isASCII && ($0.isLetter || $0.isNumber || "-_.".contains($0)) ? $0 : "_" })
    }
}
