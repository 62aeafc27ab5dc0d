import Foundation
import ImageStore
import Sandbox

#if canImport(Glibc)
import Glibc
#endif

/// What a build step needs from the host to download like the host does: the CA certificates
/// it trusts (a company or egress proxy re-signing TLS has its CA only there; pip and curl in the
/// image would reject it) and proxy and package-index settings. None of it is part of a layer's
/// key: it changes how files are fetched, not which (versions and hashes are locked).
struct HostNetworkSettings {
    static let caTarget = "/etc/devenv/host-ca-certificates.crt"
    static let passedThrough = [
        "http_proxy", "https_proxy", "no_proxy", "HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY",
        "PIP_INDEX_URL", "PIP_EXTRA_INDEX_URL", "PIP_TRUSTED_HOST", "PIP_DEFAULT_TIMEOUT",
    ]

    var environment: [String]
    var binds: [SandboxSpec.Bind]

    static func current(_ variables: [String: String] = ProcessInfo.processInfo.environment) -> HostNetworkSettings {
        var environment = passedThrough.compactMap { name in variables[name].map { "\(name)=\($0)" } }
        var binds: [SandboxSpec.Bind] = []
        let candidates: [String?] = [variables["SSL_CERT_FILE"], "/etc/ssl/certs/ca-certificates.crt", "/etc/pki/tls/certs/ca-bundle.crt"]
        let bundle = candidates.compactMap { $0 }.first { access($0, R_OK) == 0 }
        if let bundle {
            binds.append(SandboxSpec.Bind(source: HostPath.physical(bundle), target: caTarget, readOnly: true))
            environment += ["SSL_CERT_FILE", "PIP_CERT", "REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE", "NODE_EXTRA_CA_CERTS", "GIT_SSL_CAINFO"]
                .map { "\($0)=\(caTarget)" }
        }
        return HostNetworkSettings(environment: environment, binds: binds)
    }
}
