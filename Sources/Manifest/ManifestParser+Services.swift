import TOMLKit

/// `[services.NAME]` and `[volumes]`: what `devenv up` runs and keeps. They never reach the build,
/// so neither the lock nor a cache key depends on them.
extension ManifestParser {
    static let serviceKeys = ["command", "user", "ready", "restart", "depends_on"]
    static let volumeKeys = ["name", "user"]

    /// The services in start order (`Manifest.services`).
    func services(_ table: TOMLTable, _ reader: TableReader) throws(ManifestError) -> [Manifest.Service] {
        let names = reader.inFileOrder(table.keys, path: ["services"])
        guard names.count <= FieldGrammar.services else {
            throw reader.error(at: reader.locator.key(["services", names[FieldGrammar.services]]),
                               "there are \(names.count) services; devenv takes at most \(FieldGrammar.services)",
                               fix: "run related processes from one service's command")
        }
        var services: [Manifest.Service] = []
        for name in names {
            if let problem = FieldGrammar.serviceNameProblem(name) {
                throw reader.error(at: reader.locator.key(["services", name]), "service name \(FieldGrammar.quote(name)) \(problem.problem)", fix: problem.fix)
            }
            guard let service = try reader.table(table, name, path: ["services"]) else { continue }
            services.append(try self.service(name, service, others: names.filter { $0 != name }, reader))
        }
        if let cycle = Self.dependencyCycle(services) {
            throw reader.error(at: reader.locator.element(cycle[1], in: ["services", cycle[0], "depends_on"]),
                               "the services depend on each other in a circle: \(cycle.joined(separator: " → ")); none of them can start first",
                               fix: "remove one depends_on entry of the circle")
        }
        return Self.startOrder(services)
    }

    private func service(_ name: String, _ table: TOMLTable, others: [String], _ reader: TableReader) throws(ManifestError) -> Manifest.Service {
        let path = ["services", name]
        try reader.checkKeys(table, path: path, allowed: Self.serviceKeys)
        guard let command = try reader.string(table, "command", path: path) else {
            throw reader.error(at: reader.locator.key(path), "service \"\(name)\" has no command",
                               fix: "add what it runs to [services.\(name)], e.g. command = \"postgres -D /var/lib/postgresql/data\"")
        }
        try checkScript(command, "command", of: name, emptyFix: "write what the service runs, e.g. command = \"python -m http.server 8000\"", reader)
        let ready = try reader.string(table, "ready", path: path)
        if let ready {
            try checkScript(ready, "ready", of: name, emptyFix: "write a command that exits 0 once the service is ready, e.g. ready = \"pg_isready -h 127.0.0.1\", or remove ready", reader)
        }
        let user = try reader.string(table, "user", path: path)
        if let user, let problem = FieldGrammar.userProblem(user) {
            throw reader.error(at: reader.locator.value(path + ["user"]), "user \(FieldGrammar.quote(user)) of service \"\(name)\" \(problem.problem)", fix: problem.fix)
        }
        let restart = try reader.choice(table, "restart", path: path, Manifest.RestartPolicy.self) ?? .no
        var listed: Set<String> = []
        let dependsOn = try reader.strings(table, "depends_on", path: path, limit: FieldGrammar.services) { dependency in
            if dependency == name {
                return SpecProblem(problem: "is the service itself", fix: "remove it: a service cannot wait for itself")
            }
            guard others.contains(dependency) else {
                let guess = Suggestion.closest(to: dependency, among: others).map { "did you mean \"\($0)\"? " } ?? ""
                return SpecProblem(problem: "is not a service of this manifest",
                                   fix: guess + (others.isEmpty ? "remove it: there is no other service" : "name one of: \(others.joined(separator: ", "))"))
            }
            guard listed.insert(dependency).inserted else {
                return SpecProblem(problem: "is listed twice", fix: "remove one of them")
            }
            return nil
        }
        return Manifest.Service(name: name, command: command, user: user, ready: ready, restart: restart, dependsOn: dependsOn,
                                position: reader.locator.key(path))
    }

    /// A `/bin/sh -c` script: not blank, and within what the kernel passes as an argument.
    private func checkScript(_ script: String, _ key: String, of service: String, emptyFix: String, _ reader: TableReader) throws(ManifestError) {
        let position = reader.locator.value(["services", service, key])
        if script.allSatisfy(\.isWhitespace) {
            throw reader.error(at: position, "\(key) of service \"\(service)\" is empty", fix: emptyFix)
        }
        if let problem = FieldGrammar.controlProblem(script, multiline: true) {
            throw reader.error(at: position, "\(key) of service \"\(service)\" \(problem)", fix: "remove it from the command")
        }
        guard script.utf8.count <= FieldGrammar.argumentBytes else {
            throw reader.error(at: position, "\(key) of service \"\(service)\" is \(script.utf8.count) bytes; the kernel passes at most \(FieldGrammar.argumentBytes)",
                               fix: "put the commands in a script in the repository and run that")
        }
    }

    /// A circle of `depends_on` through the first service in file order that is on one, from that
    /// service back to it (`["db", "web", "db"]`); nil when there is none.
    static func dependencyCycle(_ services: [Manifest.Service]) -> [String]? {
        let dependencies = Dictionary(uniqueKeysWithValues: services.map { ($0.name, $0.dependsOn) })
        for service in services {
            var seen: Set<String> = []
            /// A way from `name` back to `service`.
            func back(from name: String) -> [String]? {
                for dependency in dependencies[name, default: []] {
                    if dependency == service.name { return [name, dependency] }
                    if seen.insert(dependency).inserted, let rest = back(from: dependency) { return [name] + rest }
                }
                return nil
            }
            if let cycle = back(from: service.name) { return cycle }
        }
        return nil
    }

    /// Each service after those it depends on; of those that could start next, the first by
    /// name. `services` has no circle.
    static func startOrder(_ services: [Manifest.Service]) -> [Manifest.Service] {
        var waiting = services.sorted { $0.name < $1.name }
        var started: Set<String> = []
        var order: [Manifest.Service] = []
        while let next = waiting.firstIndex(where: { $0.dependsOn.allSatisfy(started.contains) }) {
            started.insert(waiting[next].name)
            order.append(waiting.remove(at: next))
        }
        return order
    }

    /// The volumes sorted by target.
    func volumes(_ table: TOMLTable, _ reader: TableReader) throws(ManifestError) -> [Manifest.Volume] {
        let targets = reader.inFileOrder(table.keys, path: ["volumes"])
        guard targets.count <= FieldGrammar.volumes else {
            throw reader.error(at: reader.locator.key(["volumes", targets[FieldGrammar.volumes]]),
                               "[volumes] has \(targets.count) entries; devenv takes at most \(FieldGrammar.volumes)",
                               fix: "keep related data in one volume, in directories of its own")
        }
        var volumes: [Manifest.Volume] = []
        for target in targets {
            guard let value = table[target] else { continue }
            let volume = try self.volume(target, value, reader)
            if let other = volumes.first(where: { $0.name == volume.name }) {
                throw reader.error(at: reader.locator.value(["volumes", target]),
                                   "volume \(FieldGrammar.quote(volume.name)) is mounted at \(FieldGrammar.quote(other.target)) already (line \(other.position.line))",
                                   fix: "give each mount point a volume of its own, or mount the volume once and use directories inside it")
            }
            if let other = volumes.first(where: { Self.contains($0.target, target) || Self.contains(target, $0.target) }) {
                let relation = Self.contains(other.target, target) ? "is inside" : "contains"
                throw reader.error(at: volume.position,
                                   "volume mount point \(FieldGrammar.quote(target)) \(relation) volume mount point \(FieldGrammar.quote(other.target)) (line \(other.position.line))",
                                   fix: "mount volumes side by side, e.g. \"/data/a\" and \"/data/b\", not one inside the other")
            }
            volumes.append(volume)
        }
        return volumes.sorted { $0.target < $1.target }
    }

    private func volume(_ target: String, _ value: TOMLValueConvertible, _ reader: TableReader) throws(ManifestError) -> Manifest.Volume {
        let path = ["volumes", target]
        let position = reader.locator.key(path)
        if let problem = FieldGrammar.volumeTargetProblem(target) {
            throw reader.error(at: position, "volume mount point \(FieldGrammar.quote(target)) \(problem.problem)", fix: problem.fix)
        }
        let name: String
        var user: String?
        if let table = value.table {
            try reader.checkKeys(table, path: path, allowed: Self.volumeKeys)
            guard let named = try reader.string(table, "name", path: path) else {
                throw reader.error(at: reader.locator.value(path), "volume \(FieldGrammar.quote(target)) has no name",
                                   fix: "write \(FieldGrammar.quote(target)) = { name = \"data\", user = \"postgres\" } (user is optional)")
            }
            name = named
            user = try reader.string(table, "user", path: path)
            if let user, let problem = FieldGrammar.userProblem(user) {
                throw reader.error(at: reader.locator.value(path + ["user"]), "user \(FieldGrammar.quote(user)) of volume \(FieldGrammar.quote(target)) \(problem.problem)",
                                   fix: problem.fix)
            }
        } else if let named = value.string {
            name = named
        } else {
            throw reader.error(at: reader.locator.value(path), "volume \(FieldGrammar.quote(target)) must be a volume name or { name = …, user = … }, found \(value.type)",
                               fix: "write \(FieldGrammar.quote(target)) = \"data\", or \(FieldGrammar.quote(target)) = { name = \"data\", user = \"postgres\" }")
        }
        if let problem = FieldGrammar.volumeNameProblem(name) {
            throw reader.error(at: reader.locator.value(path + ["name"]), "volume name \(FieldGrammar.quote(name)) \(problem.problem)", fix: problem.fix)
        }
        return Manifest.Volume(target: target, name: name, user: user, position: position)
    }

    /// Whether `inner` is a directory below `outer`.
    private static func contains(_ outer: String, _ inner: String) -> Bool {
        inner.hasPrefix(outer + "/")
    }
}
