import Foundation

/// The run store (issue 4): where runs go when no `--out` is given, and `runs/latest`.
public enum RunStore {
    public static let root = "runs"

    public static func stamp() -> String {
        let formatter = DateFormatter()
        formatter.dateFormat = "yyyyMMdd-HHmmss"
        formatter.timeZone = TimeZone(identifier: "UTC")
        return formatter.string(from: Date())
    }

    /// `runs/<stamp>-<scenario>` for one scenario (the folder *is* the scenario's run folder),
    /// `runs/<stamp>` holding `<scenario>/` folders for several. A second run in the same second
    /// gets a `-2`, `-3`… suffix rather than mixing with the first.
    public static func defaultDirectory(scenarios: [String], root: String = RunStore.root) -> String {
        let base = root + "/" + stamp() + (scenarios.count == 1 ? "-" + scenarios[0] : "")
        var candidate = base
        var n = 2
        while FileManager.default.fileExists(atPath: candidate) {
            candidate = "\(base)-\(n)"
            n += 1
        }
        return candidate
    }

    /// A single-scenario default folder holds the scenario's files directly; otherwise
    /// `<outDir>/<scenario>` (DESIGN §8).
    public static func scenarioDirectory(outDir: String, scenario: String, flat: Bool) -> String {
        let path = flat ? outDir : "\(outDir)/\(scenario)"
        return URL(fileURLWithPath: path).standardizedFileURL.path
    }

    /// Repoints `runs/latest` at `outDir` (a relative symlink, replaced atomically).
    public static func pointLatest(at outDir: String, root: String = RunStore.root) {
        let fm = FileManager.default
        let name = URL(fileURLWithPath: outDir).lastPathComponent
        let temporary = "\(root)/.latest-\(getpid())"
        try? fm.removeItem(atPath: temporary)
        guard (try? fm.createSymbolicLink(atPath: temporary, withDestinationPath: name)) != nil else { return }
        if rename(temporary, "\(root)/latest") != 0 { try? fm.removeItem(atPath: temporary) }
    }
}
