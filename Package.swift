// swift-tools-version:6.2
import PackageDescription

/// Shared settings, in the style of swift-log / swift-cluster-membership.
let swiftSettings: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("MemberImportVisibility"),
]

let package = Package(
    name: "HAChaos",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "chaos", targets: ["ChaosCLI"]),
        .executable(name: "ha-agent", targets: ["HAAgent"]),
        .executable(name: "hostd", targets: ["HostDaemon"]),
        .executable(name: "vm-workload", targets: ["VMWorkload"]),
        .executable(name: "ha-node", targets: ["HANode"]),
        .executable(name: "ha-controller", targets: ["HAController"]),
        .executable(name: "ha-rogue", targets: ["HARogue"]),
        .library(name: "HACore", targets: ["HACore"]),
        .library(name: "HASim", targets: ["HASim"]),
        .library(name: "ChaosKit", targets: ["ChaosKit"]),
        .executable(name: "crash-writer", targets: ["CrashWriter"]),
        .executable(name: "chaos-bench", targets: ["ChaosBench"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        // Only for message authentication (HMAC-SHA256 of agent datagrams, issue 7).
        .package(url: "https://github.com/apple/swift-crypto", from: "4.5.2"),
    ],
    targets: [
        // Pure HA logic: no Foundation, no clock, no I/O, no randomness (checked by HACoreTests/PurityTests).
        .target(name: "HACore", swiftSettings: swiftSettings),
        // Deterministic discrete-event simulator of N FDM instances, network, datastores and VMs.
        .target(name: "HASim", dependencies: ["HACore"], swiftSettings: swiftSettings),
        // Wire and file formats shared by the agent, hostd, vm-workload and the harness (docs/NODES.md).
        .target(name: "HAWire", dependencies: ["HACore", .product(name: "Crypto", package: "swift-crypto")], swiftSettings: swiftSettings),
        // The agent shell: drives FDM.Instance with real sockets, files, probes and time.
        .target(
            name: "HAAgentKit",
            dependencies: [
                "HACore", "HAWire",
                .product(name: "NIOCore", package: "swift-nio"), .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        // hostd logic: VM registry, vm-workload processes, the agent socket; and the VM workload itself.
        .target(
            name: "HostKit",
            dependencies: [
                "HACore", "HAWire",
                .product(name: "NIOCore", package: "swift-nio"), .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        .executableTarget(name: "HAAgent", dependencies: ["HAAgentKit", .product(name: "ArgumentParser", package: "swift-argument-parser")], swiftSettings: swiftSettings),
        .executableTarget(name: "HostDaemon", dependencies: ["HostKit", .product(name: "ArgumentParser", package: "swift-argument-parser")], swiftSettings: swiftSettings),
        .executableTarget(name: "VMWorkload", dependencies: ["HostKit", .product(name: "ArgumentParser", package: "swift-argument-parser")], swiftSettings: swiftSettings),
        .executableTarget(name: "HARogue", dependencies: ["HAAgentKit", .product(name: "ArgumentParser", package: "swift-argument-parser")], swiftSettings: swiftSettings),
        .executableTarget(name: "HANode", dependencies: ["HostKit", .product(name: "ArgumentParser", package: "swift-argument-parser")], swiftSettings: swiftSettings),
        .executableTarget(
            name: "HAController",
            dependencies: [
                "HAWire", .product(name: "NIOCore", package: "swift-nio"), .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"), .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: swiftSettings
        ),
        // The system libcurl, and non-variadic C wrappers over it for the Docker Engine client.
        .systemLibrary(name: "CCurl", pkgConfig: "libcurl", providers: [.apt(["libcurl4-openssl-dev"])]),
        .target(name: "CurlShim", dependencies: ["CCurl"]),
        // setns(2) for the command runner (spawning straight into a network namespace).
        .target(name: "NetnsShim"),
        // Scenarios, checker, backends, reports.
        .target(
            name: "ChaosKit",
            dependencies: ["HACore", "HASim", "HAWire", "HostKit", "CurlShim", "NetnsShim", .product(name: "Yams", package: "Yams")],
            swiftSettings: swiftSettings
        ),
        .target(name: "HATestKit", dependencies: ["HACore", "HASim", "ChaosKit"], swiftSettings: swiftSettings),
        .executableTarget(
            name: "ChaosCLI",
            dependencies: ["ChaosKit", .product(name: "ArgumentParser", package: "swift-argument-parser")],
            swiftSettings: swiftSettings
        ),
        // Issue 8: measures the harness (Scripts/bench); not part of the tests.
        .executableTarget(
            name: "ChaosBench",
            dependencies: ["ChaosKit", "HASim", "HACore", .product(name: "ArgumentParser", package: "swift-argument-parser")],
            swiftSettings: swiftSettings
        ),
        .testTarget(name: "HACoreTests", dependencies: ["HACore", "HATestKit"], swiftSettings: swiftSettings),
        .testTarget(name: "HASimTests", dependencies: ["HACore", "HASim", "HATestKit"], swiftSettings: swiftSettings),
        .testTarget(name: "HAWireTests", dependencies: ["HAWire", "HATestKit"], swiftSettings: swiftSettings),
        .testTarget(name: "HAAgentKitTests", dependencies: ["HAAgentKit", "HATestKit"], swiftSettings: swiftSettings),
        .testTarget(name: "HostKitTests", dependencies: ["HostKit", "HATestKit"], swiftSettings: swiftSettings),
        .testTarget(name: "EndToEndTests", dependencies: ["ChaosKit", "HATestKit", "HostKit", "HAWire"], swiftSettings: swiftSettings),
        .testTarget(name: "ChaosKitTests", dependencies: ["ChaosKit", "HATestKit"], exclude: ["Fixtures"], swiftSettings: swiftSettings),
        // Issue 7: fuzzing (Fuzz/, Scripts/fuzz) and crash consistency (Scripts/crash-consistency).
        // The decoder properties shared by the libFuzzer targets and the seeded in-suite run.
        .target(name: "FuzzChecks", dependencies: ["HACore", "HAWire", "ChaosKit"], swiftSettings: swiftSettings),
        .testTarget(name: "FuzzTests", dependencies: ["FuzzChecks", "HASim"], swiftSettings: swiftSettings),
        // The writer that the crash-consistency test kills with SIGKILL, and that test.
        .executableTarget(name: "CrashWriter", dependencies: ["HACore", "HAWire", "HAAgentKit", "HostKit"], swiftSettings: swiftSettings),
        .testTarget(
            name: "CrashConsistencyTests",
            dependencies: ["CrashWriter", "HACore", "HASim", "HAWire", "HAAgentKit", "HostKit", "ChaosKit"],
            swiftSettings: swiftSettings
        ),
    ],
    swiftLanguageModes: [.v6]
)
