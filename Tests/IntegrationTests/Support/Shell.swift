import Foundation
import TestSupport

/// Runs a program and captures its output; the tests' way to drive devenv and the peer tools.
struct Shell {
    struct Result {
        var status: Int32
        var stdout: String
        var stderr: String
        var output: String { stdout + stderr }
    }

    @discardableResult
    static func run(_ executable: String, _ arguments: [String], environment: [String: String] = [:], stdin: String? = nil) throws -> Result {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable.hasPrefix("/") ? executable : "/usr/bin/env")
        process.arguments = executable.hasPrefix("/") ? arguments : [executable] + arguments
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        let out = Pipe(), err = Pipe(), input = Pipe()
        process.standardOutput = out
        process.standardError = err
        process.standardInput = input
        try process.run()
        if let stdin { input.fileHandleForWriting.write(Data(stdin.utf8)) }
        try? input.fileHandleForWriting.close()
        let (outData, errData) = readToEnd(out, err)
        process.waitUntilExit()
        return Result(status: process.terminationStatus, stdout: String(decoding: outData, as: UTF8.self), stderr: String(decoding: errData, as: UTF8.self))
    }

    /// Runs devenv with a given store.
    @discardableResult
    static func devenv(_ arguments: [String], store: String, environment: [String: String] = [:]) throws -> Result {
        let args = Array(arguments.prefix(1)) + ["--store", store] + arguments.dropFirst()
        return try run(TestEnvironment.binary(), args, environment: environment)
    }
}
