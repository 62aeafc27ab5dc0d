/// One line of `devenv doctor`: what was checked, how it went, and for a failure or warning,
/// what to do about it.
struct DoctorCheck: Encodable, Sendable {
    enum Status: String, Encodable, Sendable {
        case ok, warn, fail
        /// Nothing to check here (no manifest, or a manifest that does not need it).
        case skip
    }

    let name: String
    let status: Status
    let detail: String
    let fix: String?

    static func ok(_ name: String, _ detail: String) -> DoctorCheck { DoctorCheck(name: name, status: .ok, detail: detail, fix: nil) }
    static func skip(_ name: String, _ detail: String) -> DoctorCheck { DoctorCheck(name: name, status: .skip, detail: detail, fix: nil) }
    static func warn(_ name: String, _ detail: String, fix: String) -> DoctorCheck { DoctorCheck(name: name, status: .warn, detail: detail, fix: fix) }
    static func fail(_ name: String, _ detail: String, fix: String) -> DoctorCheck { DoctorCheck(name: name, status: .fail, detail: detail, fix: fix) }
}
