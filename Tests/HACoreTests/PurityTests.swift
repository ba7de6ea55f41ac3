import Foundation
import Testing

/// HACore must stay pure (house rule 1): no Foundation or I/O imports, no clocks, no sleeping,
/// no randomness. This test reads the sources and fails on any violation.
@Suite struct PurityTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    static func sources() throws -> [(path: String, text: String)] {
        let dir = root.appendingPathComponent("Sources/HACore")
        let files = FileManager.default.enumerator(atPath: dir.path)?.compactMap { $0 as? String }.filter { $0.hasSuffix(".swift") } ?? []
        return try files.sorted().map { ($0, try String(contentsOf: dir.appendingPathComponent($0), encoding: .utf8)) }
    }

    @Test func hacore_importsNothingButTheStandardLibrary() throws {
        let files = try Self.sources()
        #expect(files.count > 5, "HACore sources not found under \(Self.root.path)")
        for file in files {
            for line in file.text.split(separator: "\n") where line.trimmingCharacters(in: .whitespaces).hasPrefix("import ") {
                Issue.record("\(file.path): HACore may import nothing, found `\(line)`")
            }
        }
    }

    @Test func hacore_readsNoClockAndDrawsNoRandomness() throws {
        let forbidden = ["ContinuousClock", "SuspendingClock", "Date()", "Task.sleep", ".random(", "SystemRandomNumberGenerator", "DispatchQueue", "Thread."]
        for file in try Self.sources() {
            for word in forbidden where file.text.contains(word) {
                Issue.record("\(file.path): HACore must not use \(word)")
            }
        }
    }

    @Test func hacore_doesNotIterateHashedCollectionsIntoOutputsWithoutSorting_hashValueUnused() throws {
        // hashValue is seeded per process: using it would break determinism across runs.
        for file in try Self.sources() where file.text.contains(".hashValue") {
            Issue.record("\(file.path): hashValue differs between processes; use stableHash")
        }
    }
}
