// MARK: - FuzzChecks

/// The properties every decoder of untrusted input MUST keep, checked on one input (issue 7,
/// item 2).
///
/// Shared by the libFuzzer targets in `Fuzz/` (`Scripts/fuzz`), which trap on a violation so
/// libFuzzer saves the input, and by the seeded in-suite run in `Tests/FuzzTests`, which
/// expects none. A decoder that traps on an input is a bug by itself (the process dies before a
/// check can report it); the checks add what a decoder must never *accept*.
///
/// Each check returns the violations found (empty when the input is handled correctly).
public enum FuzzChecks {
    /// The targets, by the name `Scripts/fuzz` and the corpus directories use.
    public enum Target: String, CaseIterable, Sendable {
        case wireDecoder = "wire-decoder"
        case datastoreFiles = "datastore-files"
        case jsonLines = "json-lines"
        case scenarioParser = "scenario-parser"
    }

    /// Runs the check of `target` on `bytes`.
    ///
    /// - Parameters:
    ///   - target: Which decoders.
    ///   - bytes: The untrusted input.
    /// - Returns: The violations found; empty when every property holds.
    public static func check(_ target: Target, _ bytes: [UInt8]) -> [String] {
        switch target {
        case .wireDecoder: wireDecoder(bytes)
        case .datastoreFiles: datastoreFiles(bytes)
        case .jsonLines: jsonLines(bytes)
        case .scenarioParser: scenarioParser(bytes)
        }
    }

    /// The libFuzzer body: runs the check and traps on a violation, so libFuzzer records the input.
    ///
    /// - Parameters:
    ///   - target: Which decoders.
    ///   - data: libFuzzer's input pointer (nil when empty).
    ///   - size: Its length.
    /// - Returns: 0, as `LLVMFuzzerTestOneInput` must.
    public static func fuzz(_ target: Target, _ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
        let bytes = data.map { Array(UnsafeBufferPointer(start: $0, count: size)) } ?? []
        let violations = check(target, bytes)
        if !violations.isEmpty { fatalError("\(target.rawValue): \(violations.joined(separator: "; "))") }
        return 0
    }
}
