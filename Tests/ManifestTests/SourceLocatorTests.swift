import Testing
@testable import Manifest

@Suite struct SourceLocatorTests {
    let locator = SourceLocator("""
        name = "x"
        [base]
          image   =   "debian"
        [ "shell" ]
        'command' = "/bin/sh"
        [[setup]]
        name = "a"
        [[setup]]
        run = '''
        fake = "no"
        '''
        name = "b"
        [packages]
        apt = [
          "jq",
          "curl" ]
        env.FOO = "1"
        """)

    @Test func keysAndValues() {
        #expect(locator.key(["name"]) == SourcePosition(line: 1, column: 1))
        #expect(locator.key(["base", "image"]) == SourcePosition(line: 3, column: 3))
        #expect(locator.value(["base", "image"]) == SourcePosition(line: 3, column: 15))
        #expect(locator.key(["shell"]) == SourcePosition(line: 4, column: 3))
        #expect(locator.key(["shell", "command"]) == SourcePosition(line: 5, column: 1))
    }

    @Test func arraysOfTablesAreCountedAndMultiLineStringsSkipped() {
        #expect(locator.key(["setup", "[0]", "name"]) == SourcePosition(line: 7, column: 1))
        #expect(locator.key(["setup", "[1]", "name"]) == SourcePosition(line: 12, column: 1))
        #expect(locator.key(["setup", "[1]", "fake"]) == SourcePosition(line: 8, column: 3), "not a key: falls back to its table")
    }

    @Test func arrayElementsAcrossLines() {
        #expect(locator.element("jq", in: ["packages", "apt"]) == SourcePosition(line: 15, column: 3))
        #expect(locator.element("curl", in: ["packages", "apt"]) == SourcePosition(line: 16, column: 3))
        #expect(locator.element("nope", in: ["packages", "apt"]) == SourcePosition(line: 14, column: 7))
    }

    @Test func dottedKeysAndUnknownPathsFallBack() {
        #expect(locator.key(["packages", "env", "FOO"]) == SourcePosition(line: 17, column: 1))
        #expect(locator.key(["nothing"]) == SourcePosition(line: 1, column: 1))
    }
}
