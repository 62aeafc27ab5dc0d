import Foundation

public struct ToolFailure: Error, CustomStringConvertible {
    public var description: String
}

/// Runs a tool from PATH with arguments as argv and returns its standard output; throws when it
/// exits non-zero, with its standard error, unless `quiet` (whose caller expects complaints and
/// ignores them). Both pipes are read at once, so a tool that writes much to either never blocks
/// on a full pipe.
@discardableResult
public func runTool(_ tool: String, _ arguments: [String], quiet: Bool = false) throws -> String {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = [tool] + arguments
    let output = Pipe()
    let errors = Pipe()
    process.standardOutput = output
    process.standardError = errors
    try process.run()
    let (out, err) = readToEnd(output, errors)
    process.waitUntilExit()
    guard process.terminationStatus == 0 || quiet else {
        throw ToolFailure(description: "\(tool) \(arguments.joined(separator: " ")) exited \(process.terminationStatus): \(String(decoding: err, as: UTF8.self))")
    }
    return String(decoding: out, as: UTF8.self)
}

/// Everything a child writes to `output` and `errors`, read at once so that a child writing much
/// to one never blocks on a full pipe while the other is read.
public func readToEnd(_ output: Pipe, _ errors: Pipe) -> (Data, Data) {
    nonisolated(unsafe) var err = Data()
    let group = DispatchGroup()
    group.enter()
    DispatchQueue.global().async {
        err = errors.fileHandleForReading.readDataToEndOfFile()
        group.leave()
    }
    let out = output.fileHandleForReading.readDataToEndOfFile()
    group.wait()
    return (out, err)
}
