import Foundation
import Testing

/// Where the built `crash-writer` is, for the crash-consistency tests.
///
/// First match wins: `$HACHAOS_BIN_DIR`; the test bundle's directory and its ancestors
/// (`swift test` puts the bundle beside the executables); then `<package>/.build/debug`.
enum CrashWriterBinary {
    static let path: String? = {
        var candidates: [String] = []
        if let override = ProcessInfo.processInfo.environment["HACHAOS_BIN_DIR"] { candidates.append(override) }
        let selfExecutable = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
        var url = URL(fileURLWithPath: selfExecutable).standardizedFileURL.deletingLastPathComponent()
        for _ in 0..<4 {
            candidates.append(url.path)
            url = url.deletingLastPathComponent()
        }
        // CrashWriterBinary.swift → CrashConsistencyTests → Tests → package root.
        let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        candidates.append(packageRoot.appendingPathComponent(".build/debug").path)
        return candidates.map { $0 + "/crash-writer" }.first { FileManager.default.isExecutableFile(atPath: $0) }
    }()

    static let missingReason: Comment = "crash-writer is not built (run `swift build` first, or set HACHAOS_BIN_DIR)"
}
