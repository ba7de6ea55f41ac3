import Foundation

/// Reads scenario files and directories of them, and parses each with ``ScenarioParser``.
///
/// Every file is parsed before any scenario runs, so one bad file stops the whole command with its
/// `file:line:column` (DESIGN §7).
public enum ScenarioLoader {
    /// Files larger than this are refused (a scenario is a page of YAML, not a data set).
    static let maxFileBytes = 1 << 20

    /// Loads scenarios from files and directories.
    ///
    /// A directory stands for its `*.yaml` and `*.yml` files (not recursive, hidden files skipped),
    /// sorted by name; other paths are read as files, in the order given.
    ///
    /// - Parameter paths: Scenario files and directories.
    /// - Returns: The scenarios, in the order described above.
    /// - Throws: ``ScenarioError`` for an unreadable path (at line 1, column 1), a bad file, or a
    ///   scenario name already used by an earlier file (names key the result directories, DESIGN §8).
    public static func load(paths: [String]) throws(ScenarioError) -> [Scenario] {
        var scenarios: [Scenario] = []
        var fileByName: [String: String] = [:]
        for file in try expand(paths) {
            let (scenario, nameLocation) = try ScenarioParser.parseDocument(yaml: try read(file), path: file)
            if let other = fileByName[scenario.name] {
                throw ScenarioError(
                    code: .duplicate, location: nameLocation,
                    message: "scenario name \"\(scenario.name)\" is already used by \(other); names must be unique"
                )
            }
            fileByName[scenario.name] = file
            scenarios.append(scenario)
        }
        return scenarios
    }

    /// The files `paths` stand for.
    static func expand(_ paths: [String]) throws(ScenarioError) -> [String] {
        var files: [String] = []
        for path in paths {
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
                throw unreadable(path, "no such file or directory")
            }
            guard isDirectory.boolValue else {
                files.append(path)
                continue
            }
            let names: [String]
            do {
                names = try FileManager.default.contentsOfDirectory(atPath: path)
            } catch {
                throw unreadable(path, "cannot list the directory")
            }
            let scenarios = names
                .filter { !$0.hasPrefix(".") && ($0.hasSuffix(".yaml") || $0.hasSuffix(".yml")) }
                .sorted()
                .map { path.hasSuffix("/") ? path + $0 : path + "/" + $0 }
                .filter { file in
                    var isDirectory: ObjCBool = false
                    return FileManager.default.fileExists(atPath: file, isDirectory: &isDirectory) && !isDirectory.boolValue
                }
            files += scenarios
        }
        return files
    }

    /// The text of a file, which MUST be UTF-8 and at most ``maxFileBytes`` long.
    static func read(_ path: String) throws(ScenarioError) -> String {
        guard let handle = FileHandle(forReadingAtPath: path) else { throw unreadable(path, "permission denied or not a regular file") }
        defer { try? handle.close() }
        let data: Data
        do {
            data = try handle.read(upToCount: maxFileBytes + 1) ?? Data()
        } catch {
            throw unreadable(path, "read failed (\(error.localizedDescription))")
        }
        guard data.count <= maxFileBytes else { throw unreadable(path, "the file is larger than \(maxFileBytes) bytes") }
        guard let text = String(data: data, encoding: .utf8) else { throw unreadable(path, "the file is not UTF-8 text") }
        return text
    }

    /// "cannot read "`path`": `reason`", at line 1, column 1 of `path`.
    private static func unreadable(_ path: String, _ reason: String) -> ScenarioError {
        ScenarioError(
            code: .unreadable, location: SourceLocation(file: path, line: 1, column: 1),
            message: "cannot read \"\(path)\": \(reason)"
        )
    }
}
