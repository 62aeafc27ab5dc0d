import Foundation
import Manifest

/// Reads the installation report of `pip install --dry-run --report -` (pip ≥ 22.2): what pip
/// would install for the requirements, each with the archive it chose and that archive's hash.
public enum PipReport {
    public struct Failure: Error, CustomStringConvertible {
        public let description: String
    }

    struct Report: Decodable {
        struct Item: Decodable {
            struct DownloadInfo: Decodable {
                struct ArchiveInfo: Decodable {
                    var hash: String?
                    var hashes: [String: String]?
                }
                var url: String
                var archive_info: ArchiveInfo?
            }
            struct Metadata: Decodable {
                var name: String
                var version: String
            }
            var download_info: DownloadInfo
            var metadata: Metadata
        }
        struct Environment: Decodable {
            var python_full_version: String?
        }
        var install: [Item]
        var environment: Environment?
    }

    /// The distributions, sorted by normalized name, and the Python version pip resolved for.
    public static func parse(_ data: Data) throws(Failure) -> (distributions: [Lock.PipDistribution], python: String) {
        let report: Report
        do { report = try JSONDecoder().decode(Report.self, from: data) } catch {
            throw Failure(description: "pip printed no installation report (\(error)); is pip older than 22.2?")
        }
        var distributions: [Lock.PipDistribution] = []
        for item in report.install {
            // pip 23 writes `hashes`; older reports have only `hash` as "sha256=…".
            var sha256 = item.download_info.archive_info?.hashes?["sha256"]
            if sha256 == nil, let hash = item.download_info.archive_info?.hash, hash.hasPrefix("sha256=") {
                sha256 = String(hash.dropFirst(7))
            }
            guard let sha256 else {
                throw Failure(description: "pip would install \(item.metadata.name) from \(item.download_info.url), which has no sha256 hash (a VCS or directory requirement cannot be locked); use a released version from PyPI")
            }
            distributions.append(Lock.PipDistribution(name: Lock.normalizedPipName(item.metadata.name), version: item.metadata.version, sha256: [sha256]))
        }
        distributions.sort { $0.name < $1.name }
        return (distributions, report.environment?.python_full_version ?? "unknown")
    }
}
