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
        .library(name: "HACore", targets: ["HACore"]),
        .library(name: "HASim", targets: ["HASim"]),
        .library(name: "ChaosKit", targets: ["ChaosKit"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
    ],
    targets: [
        // Pure HA logic: no Foundation, no clock, no I/O, no randomness (checked by HACoreTests/PurityTests).
        .target(name: "HACore", swiftSettings: swiftSettings),
        // Deterministic discrete-event simulator of N FDM instances, network, datastores and VMs.
        .target(name: "HASim", dependencies: ["HACore"], swiftSettings: swiftSettings),
        // Scenarios, checker, backends, reports.
        .target(
            name: "ChaosKit",
            dependencies: ["HACore", "HASim", .product(name: "Yams", package: "Yams")],
            swiftSettings: swiftSettings
        ),
        .target(name: "HATestKit", dependencies: ["HACore", "HASim", "ChaosKit"], swiftSettings: swiftSettings),
        .executableTarget(
            name: "ChaosCLI",
            dependencies: ["ChaosKit", .product(name: "ArgumentParser", package: "swift-argument-parser")],
            swiftSettings: swiftSettings
        ),
        .testTarget(name: "HACoreTests", dependencies: ["HACore", "HATestKit"], swiftSettings: swiftSettings),
        .testTarget(name: "HASimTests", dependencies: ["HACore", "HASim", "HATestKit"], swiftSettings: swiftSettings),
        .testTarget(name: "ChaosKitTests", dependencies: ["ChaosKit", "HATestKit"], exclude: ["Fixtures"], swiftSettings: swiftSettings),
    ],
    swiftLanguageModes: [.v6]
)
