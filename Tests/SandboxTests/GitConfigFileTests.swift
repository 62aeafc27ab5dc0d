@testable import Sandbox
import Testing

@Suite(.tags(.rootless)) struct GitConfigFileTests {
    func entries(_ text: String) throws -> [String] {
        try GitConfigFile(text).entries.map { "\($0.line) \($0.key)=\($0.value ?? "<true>")" }
    }

    @Test func readsSectionsSubsectionsAndValuesAsGitDoes() throws {
        let text = """
            # a comment
            [Core]
            \tHooksPath = .husky/_   ; trailing comment
            \tbare
            [filter "LFS"]
            \tprocess = "git-lfs filter-process" # quoted
            [alias] st = status
            [core.Sub]
            \teditor = vim \\
            -f
            \tpager = "less \\"x\\"\\t"
            """
        #expect(try entries(text) == [
            "3 core.hookspath=.husky/_", "4 core.bare=<true>", "6 filter.LFS.process=git-lfs filter-process",
            "7 alias.st=status", "9 core.sub.editor=vim -f", "11 core.sub.pager=less \"x\"\t",
        ])
    }

    @Test func aByteOrderMarkAndWindowsLineEndingsAreReadAsGitReadsThem() throws {
        #expect(try entries("\u{FEFF}[core]\r\n\tbare\r\n\teditor = vim\r\n") == ["2 core.bare=<true>", "3 core.editor=vim"])
    }

    /// A file git cannot read either: the line is named rather than keys being skipped silently.
    @Test(arguments: [
        ("key = value\n", 1), ("[core]\n1key = x\n", 2), ("[core\nx = 1\n", 1), ("[a \"b]\n", 1),
        ("[core]\nx = \"open\n", 2), ("[core]\nx = a\\q\n", 2), ("[core]\nx y\n", 2),
    ])
    func rejectsWhatGitRejects(text: String, line: Int) {
        #expect(throws: GitConfigFile.SyntaxError.self) { try GitConfigFile(text) }
        do {
            _ = try GitConfigFile(text)
        } catch {
            #expect(error.line == line, "\(text.debugDescription): \(error)")
        }
    }
}
