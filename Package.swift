// swift-tools-version: 6.0
import PackageDescription

let package = Package(
    name: "devenv",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "devenv", targets: ["devenv"]),
        .executable(name: "devenv-core", targets: ["devenv-core"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-crypto", from: "3.12.3"),
        .package(url: "https://github.com/swift-server/async-http-client", from: "1.37.0"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/LebJe/TOMLKit", from: "0.6.0"),
    ],
    targets: [
        // The small C executable users run: a fast start from a launch record, else devenv-core.
        // Linked statically: no dynamic loader, no Swift runtime to start (0.9 ms vs 2.4 ms).
        .executableTarget(
            name: "devenv",
            dependencies: ["CLaunch"],
            linkerSettings: [.unsafeFlags(["-static-executable"], .when(platforms: [.linux]))]
        ),
        .executableTarget(name: "devenv-core", dependencies: ["DevenvCommands"]),
        .target(
            name: "DevenvCommands",
            dependencies: [
                "OCI", "Layers", "Git", "Storage", "Sandbox", "Manifest", "Build", "ImageStore", "Environments", "Templates", "HostChecks",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        // The store as a whole: its directories, the images in it with their unpacked layers,
        // pulling into it, the environment images built in it, and collecting its garbage.
        .target(name: "ImageStore", dependencies: ["OCI", "Layers", "Storage", "Sandbox"]),
        // A project's environment: manifest → lock → plan → layers → a sandbox started on them,
        // with the trust check before anything is built; progress leaves as events.
        .target(name: "Environments", dependencies: ["ImageStore", "Build", "Manifest", "Git", "OCI", "Layers", "Storage", "Sandbox", "CLaunch", "CLinux"]),
        // The manifests `devenv init` writes.
        .target(name: "Templates"),
        // `devenv doctor`'s checks of the host, the store and the project.
        .target(name: "HostChecks", dependencies: ["Environments", "ImageStore", "OCI", "Git", "Manifest", "Sandbox"]),
        .target(
            name: "OCI",
            dependencies: [
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                "Storage",
            ]
        ),
        .target(name: "Storage"),
        .target(name: "Manifest", dependencies: ["OCI", .product(name: "TOMLKit", package: "TOMLKit")]),
        .target(name: "Layers", dependencies: ["CArchive", "CLinux", .product(name: "Crypto", package: "swift-crypto")]),
        // Plans a manifest + lock into cached layers and runs the steps that make them.
        .target(name: "Build", dependencies: ["Manifest", "OCI", "Layers", "Sandbox", "Storage", .product(name: "Crypto", package: "swift-crypto")]),
        .target(name: "Git", dependencies: ["CGit2", "CDiscovery"]),
        .target(name: "Sandbox", dependencies: ["CSandbox", "CLaunch", "CSeccomp", "CLinux", .product(name: "Crypto", package: "swift-crypto")]),
        // Everything between clone and execve: no Swift may run there (docs/architecture.md,
        // "Process picture").
        .target(name: "CSandbox"),
        // Launch records (the flat sandbox config devenv-core caches for a fast start), reading
        // them back and running them.
        .target(name: "CLaunch", dependencies: ["CSandbox", "CDiscovery"]),
        // Which project a directory belongs to, for the launcher and (through Git) devenv-core.
        .target(name: "CDiscovery"),
        .systemLibrary(name: "CLinux"),
        .systemLibrary(name: "CArchive", pkgConfig: "libarchive", providers: [.apt(["libarchive-dev"])]),
        .systemLibrary(name: "CGit2", pkgConfig: "libgit2", providers: [.apt(["libgit2-dev"])]),
        .systemLibrary(name: "CSeccomp", pkgConfig: "libseccomp", providers: [.apt(["libseccomp-dev"])]),
        .testTarget(name: "OCITests", dependencies: ["OCI", "TestSupport"]),
        .testTarget(name: "LayersTests", dependencies: ["Layers", "CLinux", "TestSupport"]),
        .testTarget(name: "GitTests", dependencies: ["Git", "TestSupport"]),
        .testTarget(name: "ManifestTests", dependencies: ["Manifest", "TestSupport"]),
        .testTarget(name: "SandboxTests", dependencies: ["Sandbox", "CLinux", "TestSupport"]),
        .testTarget(name: "BuildTests", dependencies: ["Build"]),
        .testTarget(name: "ImageStoreTests", dependencies: ["ImageStore", "OCI", "TestSupport"]),
        .testTarget(name: "EnvironmentsTests", dependencies: ["Environments", "ImageStore", "Manifest", "Build", "TestSupport"]),
        // Temporary directories, projects and processes for every test target.
        .target(name: "TestSupport", path: "Tests/TestSupport"),
        .testTarget(
            name: "IntegrationTests",
            dependencies: ["CLinux", "TestSupport", .product(name: "Crypto", package: "swift-crypto")],
            // C sources of probes the tests compile and run inside the sandbox, not part of the target.
            exclude: ["Fixtures"]
        ),
    ]
)
