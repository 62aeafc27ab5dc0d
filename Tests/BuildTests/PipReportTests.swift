import Foundation
import Manifest
import Testing
@testable import Build

@Test func theReportGivesVersionsAndHashesSortedByNormalizedName() throws {
    let report = """
        {"version": "1", "pip_version": "23.0.1", "environment": {"python_full_version": "3.11.2"},
         "install": [
          {"download_info": {"url": "https://files/Django-4.2.16-py3-none-any.whl",
                             "archive_info": {"hash": "sha256=\(String(repeating: "a", count: 64))",
                                              "hashes": {"sha256": "\(String(repeating: "a", count: 64))"}}},
           "metadata": {"name": "Django", "version": "4.2.16"}},
          {"download_info": {"url": "https://files/asgiref-3.8.1.tar.gz",
                             "archive_info": {"hash": "sha256=\(String(repeating: "b", count: 64))"}},
           "metadata": {"name": "asgiref", "version": "3.8.1"}}
         ]}
        """
    let parsed = try PipReport.parse(Data(report.utf8))
    #expect(parsed.python == "3.11.2")
    #expect(parsed.distributions == [
        Lock.PipDistribution(name: "asgiref", version: "3.8.1", sha256: [String(repeating: "b", count: 64)]),
        Lock.PipDistribution(name: "django", version: "4.2.16", sha256: [String(repeating: "a", count: 64)]),
    ])
}

@Test func aRequirementWithoutAHashCannotBeLocked() {
    let report = #"{"install": [{"download_info": {"url": "git+https://example.com/x", "vcs_info": {}}, "metadata": {"name": "x", "version": "1"}}]}"#
    #expect(throws: PipReport.Failure.self) { try PipReport.parse(Data(report.utf8)) }
    #expect(throws: PipReport.Failure.self) { try PipReport.parse(Data("not json".utf8)) }
}

@Test func namesAreNormalizedAsPEP503Says() {
    #expect(Lock.normalizedPipName("Foo.Bar__baz") == "foo-bar-baz")
    #expect(Lock.normalizedPipName("zope.interface") == "zope-interface")
}
