import Foundation

/// Where the built `vm-workload`, `hostd` and `ha-node` are, for tests that run them.
///
/// Looked up, first match wins: `$HOSTKIT_BIN_DIR`; the test bundle's own directory and its
/// ancestors (`swift test` puts `HAChaosPackageTests.xctest` beside the executables in
/// `.build/<triple>/debug`); then `<package>/.build/debug` found from `#filePath`. A directory
/// counts only if all three executables are there; otherwise the tests are skipped with
/// ``missingReason``.
enum Binaries {
    static let names = ["vm-workload", "hostd", "ha-node"]

    static let directory: String? = {
        let fileManager = FileManager.default
        var candidates: [String] = []
        if let override = ProcessInfo.processInfo.environment["HOSTKIT_BIN_DIR"] { candidates.append(override) }
        let selfExecutable = (try? fileManager.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
        for start in [selfExecutable, CommandLine.arguments.first ?? ""] where !start.isEmpty {
            var url = URL(fileURLWithPath: start).standardizedFileURL.deletingLastPathComponent()
            for _ in 0..<4 {
                candidates.append(url.path)
                url = url.deletingLastPathComponent()
            }
        }
        // Support/Binaries.swift → HostKitTests → Tests → package root.
        let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().deletingLastPathComponent()
        candidates.append(packageRoot.appendingPathComponent(".build/debug").path)
        return candidates.first { directory in
            names.allSatisfy { fileManager.isExecutableFile(atPath: directory + "/" + $0) }
        }
    }()

    static var available: Bool { directory != nil }
    static let missingReason = "vm-workload, hostd and ha-node are not built (run `swift build` first, or set HOSTKIT_BIN_DIR)"

    static var vmWorkload: String { directory! + "/vm-workload" }
    static var hostd: String { directory! + "/hostd" }
    static var haNode: String { directory! + "/ha-node" }
}
