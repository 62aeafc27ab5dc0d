import Foundation
import TestSupport
import Testing
@testable import Environments

@Suite struct EnvironmentUpTests {
    /// What `up` shows of a failed service's log: its last lines, blank ones included.
    @Test func theTailIsTheLastLinesWithOrWithoutAFinalNewline() throws {
        let scratch = try TemporaryDirectory("log-tail")
        let log = try scratch.file("web.log", "one\ntwo\n\nfour\nfive\n")
        #expect(EnvironmentUp.tail(log, lines: 3) == ["", "four", "five"])
        #expect(EnvironmentUp.tail(log, lines: 20) == ["one", "two", "", "four", "five"])
        let unfinished = try scratch.file("api.log", "one\ntwo\nPanic: ")
        #expect(EnvironmentUp.tail(unfinished, lines: 2) == ["two", "Panic: "])
        #expect(EnvironmentUp.tail(scratch.path + "/absent.log", lines: 20) == [])
    }
}
