import Manifest

/// Reads what `apt-get install --simulate` would install: one `Inst` line per package of the
/// closure, e.g. `Inst jq (1.6-2.1 Debian:12.5/stable [amd64])`, or for an upgrade of a package
/// the base already has, `Inst libc6 [2.36-9] (2.36-9+deb12u4 Debian:12.5/stable [amd64])`.
public enum AptSimulation {
    public static func packages(fromOutput output: String) -> [Lock.AptPackage] {
        var packages: [Lock.AptPackage] = []
        for line in output.split(separator: "\n") where line.hasPrefix("Inst ") {
            let fields = line.dropFirst(5)
            guard let nameEnd = fields.firstIndex(of: " "),
                  let open = fields.firstIndex(of: "("),
                  let close = fields[open...].firstIndex(of: ")") else { continue }
            let name = String(fields[..<nameEnd])
            let inside = fields[fields.index(after: open)..<close]
            guard let version = inside.split(separator: " ").first else { continue }
            // The architecture is the last bracketed word inside the parentheses.
            var architecture = "all"
            if let archOpen = inside.lastIndex(of: "["), let archClose = inside.lastIndex(of: "]"), archOpen < archClose {
                architecture = String(inside[inside.index(after: archOpen)..<archClose])
            }
            // `name:arch` appears for foreign-architecture packages; the lock keeps them apart.
            packages.append(Lock.AptPackage(name: name, version: String(version), architecture: architecture))
        }
        return packages.sorted { ($0.name, $0.architecture) < ($1.name, $1.architecture) }
    }

    /// apt's own complaint from its output (the `E:` lines), for an error message.
    public static func errors(fromOutput output: String) -> [String] {
        output.split(separator: "\n").filter { $0.hasPrefix("E: ") }.map { String($0.dropFirst(3)) }
    }
}
