import Foundation
import Sandbox

/// What a running environment's supervisor says about it (`envs/<id>/run/state.json`), rewritten
/// whole at every change: `devenv up` waits on it, `ps` lists it, `enter` and `run` join the
/// sandbox it names.
public struct RunningState: Codable, Sendable, Equatable {
    public struct Service: Codable, Sendable, Equatable {
        public enum Status: String, Codable, Sendable {
            /// Its dependencies are not ready yet.
            case waiting
            /// Running; its `ready` command has not succeeded yet.
            case starting
            /// Running and ready.
            case ready
            /// Ended; started again after a pause (`restart`).
            case restarting
            /// Ended and not restarted, or never got ready.
            case failed
            /// Ended with status 0 and not restarted.
            case exited
        }

        public var name: String
        public var status: Status
        /// The command's pid as the host sees it, while it runs.
        public var pid: Int32?
        public var restarts = 0
        /// When it entered `status`.
        public var since: Date
        /// How its last run ended: an exit status, 128+N for signal N.
        public var lastExit: Int32?
        /// Why it failed, in words.
        public var problem: String?

        public init(name: String, status: Status, since: Date) {
            self.name = name
            self.status = status
            self.since = since
        }
    }

    public var name: String
    public var project: String
    /// The supervisor's pid.
    public var supervisor: Int32
    /// The sandbox's pid 1.
    public var sandbox: SandboxProcess
    /// What `enter`, `run` and the services join.
    public var namespaces: SandboxNamespaces
    public var started: Date
    /// `[network] mode`.
    public var network: String
    /// "HOST:INSIDE" pairs published on the host's 127.0.0.1.
    public var ports: [String]
    /// In start order.
    public var services: [Service]
    /// Set when the supervisor is taking the environment down (`down`, Ctrl-C, a failure).
    public var stopping = false

    public init(name: String, project: String, supervisor: Int32, sandbox: SandboxProcess, namespaces: SandboxNamespaces, started: Date,
                network: String, ports: [String], services: [Service]) {
        self.name = name
        self.project = project
        self.supervisor = supervisor
        self.sandbox = sandbox
        self.namespaces = namespaces
        self.started = started
        self.network = network
        self.ports = ports
        self.services = services
    }

    public func service(_ name: String) -> Service? { services.first { $0.name == name } }

    static let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .prettyPrinted]
        encoder.dateEncodingStrategy = .iso8601
        return encoder
    }()

    static let decoder: JSONDecoder = {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        return decoder
    }()
}
