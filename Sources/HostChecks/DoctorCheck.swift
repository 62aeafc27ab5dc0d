/// One line of `devenv doctor`: what was checked, how it went, and for a failure or warning,
/// what to do about it.
public struct DoctorCheck: Encodable, Sendable {
    public enum Status: String, Encodable, Sendable {
        case ok, warn, fail
        /// Nothing to check here (no manifest, or a manifest that does not need it).
        case skip
    }

    public let name: String
    public let status: Status
    public let detail: String
    public let fix: String?

    public static func ok(_ name: String, _ detail: String) -> DoctorCheck { DoctorCheck(name: name, status: .ok, detail: detail, fix: nil) }
    public static func skip(_ name: String, _ detail: String) -> DoctorCheck { DoctorCheck(name: name, status: .skip, detail: detail, fix: nil) }
    public static func warn(_ name: String, _ detail: String, fix: String) -> DoctorCheck { DoctorCheck(name: name, status: .warn, detail: detail, fix: fix) }
    public static func fail(_ name: String, _ detail: String, fix: String) -> DoctorCheck { DoctorCheck(name: name, status: .fail, detail: detail, fix: fix) }
}
